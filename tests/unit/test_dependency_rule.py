"""The dependency rule, checked on the source: imports point inward, and never in a circle.

The layers, innermost first, and what each may import:

domain/       the standard library without I/O, clocks or randomness, numpy, sortedcontainers
application/  the standard library, domain/ and numpy; never an adapter, an entry point or an
              I/O library (ports are Protocols that adapters implement)
adapters/     anything but entrypoints/
entrypoints/  anything: it is the composition root, the command line and the gRPC server

Across all of them and bench/, no import cycle: counting the imports made inside functions and
those made only for type checking, no module imports, directly or through others, one that
imports it back. Modules in a cycle cannot be read, tested or moved one without the other.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("domain", "application", "adapters", "entrypoints", "bench")
OUTER = {"application", "adapters", "entrypoints", "tests", "bench"}
IO_LIBRARIES = {
    "grpc", "grpc_tools", "grpc_health", "grpc_reflection", "grpc_status", "google",
    "sqlalchemy", "alembic", "redis", "websockets", "orjson", "dependency_injector",
    "psycopg", "asyncpg", "aiosqlite", "uvloop", "requests", "httpx", "aiohttp",
}  # fmt: skip
DOMAIN_FORBIDDEN_STDLIB = {
    "asyncio", "socket", "ssl", "select", "selectors", "http", "urllib", "subprocess",
    "multiprocessing", "threading", "concurrent", "os", "io", "pathlib", "shutil", "tempfile",
    "sqlite3", "time", "logging", "random", "secrets", "signal", "pickle", "shelve",
}  # fmt: skip
DOMAIN_THIRD_PARTY = {"numpy", "sortedcontainers"}
WALL_CLOCK_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "time_ns",
    "monotonic",
    "monotonic_ns",
    "perf_counter",
}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _violations(package: str, allowed: set[str], forbidden: set[str]) -> list[str]:
    problems = []
    for path in _sources(package):
        for line, module in _imports(path):
            if module in {"__future__", package}:
                continue
            third_party = module not in sys.stdlib_module_names
            if module in forbidden or (third_party and module not in allowed):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return problems


def test_domain_imports_no_io_and_no_outer_layer() -> None:
    forbidden = OUTER | IO_LIBRARIES | DOMAIN_FORBIDDEN_STDLIB
    assert _violations("domain", DOMAIN_THIRD_PARTY, forbidden) == []


def test_domain_never_reads_the_wall_clock() -> None:
    calls = []
    for path in _sources("domain"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WALL_CLOCK_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"datetime", "date", "time"}
            ):
                call = f"{node.func.value.id}.{node.func.attr}()"
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {call}")
    assert calls == []


def test_application_imports_no_adapter_and_no_io_library() -> None:
    forbidden = (OUTER - {"application"}) | IO_LIBRARIES
    assert _violations("application", {"domain", "numpy"}, forbidden) == []


def test_adapters_do_not_import_entrypoints() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources("adapters")
        for line, module in _imports(path)
        if module in {"entrypoints", "tests", "bench"}
    ]
    assert problems == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of the project and the project modules it imports, wherever the import is.

    ``from a.b import c`` points at ``a.b.c`` when that is a module, else at ``a.b``; the parent
    packages Python also initializes on the way are not counted, so a package whose
    ``__init__`` re-exports its modules is not a cycle with each of them.
    """
    modules = {_module_name(path): path for package in PROJECT for path in _sources(package)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        wanted: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                wanted += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    parent = package
                    for _ in range(node.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{base}" if base else parent
                wanted += [f"{base}.{alias.name}" for alias in node.names]
        found = {_module_of(target, modules) for target in wanted}
        graph[name] = {module for module in found if module and module != name}
    return graph


def _module_of(imported: str, modules: Mapping[str, Path]) -> str:
    """The project module ``imported`` is or lives in; "" for anything outside the project."""
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported


def _cycles(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import cycle: each strongly connected component of more than one module (Tarjan),
    shown as its shortest loop through its first module (and its size when it holds more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_described(component, graph) for component in sorted(components)]


def _described(component: list[str], graph: Mapping[str, set[str]]) -> str:
    loop = _loop(component, graph)
    others = len(component) - (len(loop) - 1)
    return " -> ".join(loop) + (f" (the cycle holds {len(component)} modules)" if others else "")


def _loop(component: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """The shortest path from the component's first module back to itself."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph[module] & members):
            if target == start:
                return [*paths[module], start]
            if target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"{component} is not a cycle")


def test_no_module_imports_itself_back_through_others() -> None:
    assert _cycles(_import_graph()) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"entrypoints/a.py": "from entrypoints import b\n", "entrypoints/b.py": "import entrypoints.a\n"},
            ["entrypoints.a -> entrypoints.b -> entrypoints.a"],
        ),
        (
            {
                "entrypoints/cli.py": "def main() -> None:\n    from entrypoints.run import go\n",
                "entrypoints/run.py": "from entrypoints.launch import start\n",
                "entrypoints/launch.py": "from entrypoints.cli import main\n",
            },
            ["entrypoints.cli -> entrypoints.run -> entrypoints.launch -> entrypoints.cli"],
        ),
        (
            {
                "adapters/x/__init__.py": "from .y import Y\n",
                "adapters/x/y.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import z\n",
                "adapters/x/z.py": "from adapters.x.y import Y\n",
            },
            ["adapters.x.y -> adapters.x.z -> adapters.x.y"],
        ),
        (
            {
                "entrypoints/a.py": "from entrypoints import b\n",
                "entrypoints/b.py": "def later() -> None:\n    import domain.c\n",
                "domain/c.py": "",
            },
            [],
        ),
    ],
)
def test_the_checker_catches_a_planted_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], expected: list[str]
) -> None:
    # A module importing into the cycle (when there is one) without being part of it.
    files = {**files, "bench/user.py": "import entrypoints.a, entrypoints.cli\nfrom adapters.x import Y\n"}
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _cycles(_import_graph()) == expected


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("import asyncio\n", "domain", "imports asyncio"),
        ("from adapters.memory import bus\n", "domain", "imports adapters"),
        ("import sqlalchemy\n", "application", "imports sqlalchemy"),
        ("from adapters import x\n", "application", "imports adapters"),
    ],
)
def test_the_checker_catches_a_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, package: str, expected: str
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "bad.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    forbidden = (
        OUTER | IO_LIBRARIES | DOMAIN_FORBIDDEN_STDLIB
        if package == "domain"
        else (OUTER - {package}) | IO_LIBRARIES
    )
    allowed = DOMAIN_THIRD_PARTY if package == "domain" else {"domain", "numpy"}
    problems = _violations(package, allowed, forbidden)
    assert len(problems) == 1
    assert expected in problems[0]
