"""The dependency rule of DESIGN.md, checked on the source: inner layers never import outer ones.

domain/      stdlib (minus I/O, clocks and randomness) + numpy + sortedcontainers
application/ stdlib + domain (+ numpy); never adapters, entrypoints or an I/O library
adapters/    anything but entrypoints
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
