"""The Makefile: ``make demo`` passes its options on, installs the runtime only (no test or
lint tools), and the development targets add those tools to the same ``.venv``."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@dataclass(slots=True)
class Rule:
    prerequisites: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Makefile:
    """The rules of a Makefile with its ``NAME := value`` variables expanded (enough of make's
    syntax for this project's Makefile: simple assignments, one-line rule heads, tab recipes)."""

    rules: dict[str, Rule]

    @classmethod
    def parse(cls, text: str) -> Makefile:
        variables: dict[str, str] = {}
        rules: dict[str, Rule] = {}
        current: list[Rule] = []

        def expand(value: str) -> str:
            for _ in range(10):  # nested references, e.g. $(BIN) inside $(VENV)
                value = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), value)
            return value

        for line in text.splitlines():
            if line.startswith("\t"):
                for rule in current:
                    rule.recipe.append(expand(line.strip()))
                continue
            code = line.split("#", 1)[0].rstrip()
            assignment = re.fullmatch(r"([A-Za-z_]+)\s*(?::=|\?=|=)\s*(.*)", code)
            if assignment:
                variables[assignment[1]] = expand(assignment[2])
                current = []
            elif ":" in code and not code.startswith("."):
                targets, _, prerequisites = code.partition(":")
                current = []
                for target in expand(targets).split():
                    rule = rules.setdefault(target, Rule())
                    rule.prerequisites += expand(prerequisites).split()
                    current.append(rule)
            elif code:
                current = []
        return cls(rules)

    def closure(self, target: str) -> list[str]:
        """``target`` and everything it needs, prerequisites first (make's order)."""
        seen: list[str] = []

        def visit(name: str) -> None:
            if name in seen or name not in self.rules:
                return
            for prerequisite in self.rules[name].prerequisites:
                visit(prerequisite)
            seen.append(name)

        visit(target)
        return seen

    def installs(self, target: str) -> list[str]:
        """The pip install lines that making ``target`` in a fresh clone runs, in order."""
        return [
            line for name in self.closure(target) for line in self.rules[name].recipe if "pip install" in line
        ]


MAKEFILE = Makefile.parse((REPO / "Makefile").read_text())
DEV_TARGETS = ("venv", "test", "lint", "typecheck", "fmt", "proto")
RUNTIME_TARGETS = ("demo", "bench")


def _project_installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "--upgrade pip" not in line]


@pytest.mark.parametrize("target", RUNTIME_TARGETS)
def test_demo_and_bench_install_the_project_with_its_runtime_dependencies_only(target: str) -> None:
    installs = _project_installs(MAKEFILE.installs(target))
    assert installs, f"make {target} installs nothing into .venv"
    assert all(line.endswith("pip install --quiet -e .") for line in installs), installs


@pytest.mark.parametrize("target", DEV_TARGETS)
def test_the_development_targets_install_the_dev_extras_after_the_runtime(target: str) -> None:
    installs = _project_installs(MAKEFILE.installs(target))
    assert [line.split()[-1] for line in installs] == [".", "'.[dev]'"], installs


def test_each_level_has_its_own_stamp_refreshed_when_pyproject_changes() -> None:
    runtime = MAKEFILE.rules["demo"].prerequisites[0]
    dev = MAKEFILE.rules["venv"].prerequisites[0]
    assert runtime != dev
    assert {Path(runtime).parent, Path(dev).parent} == {Path(".venv")}
    assert MAKEFILE.rules[runtime].prerequisites == ["pyproject.toml"]
    assert MAKEFILE.rules[dev].prerequisites == [runtime]  # so it follows pyproject.toml too
    assert MAKEFILE.rules[runtime].recipe[-1].endswith(f"touch {runtime}")
    assert MAKEFILE.rules[dev].recipe[-1].endswith(f"touch {dev}")


def test_a_fresh_clone_bootstraps_the_venv_for_what_ci_runs() -> None:
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    ci_target = next(line for line in reversed(ci) if line and not line.startswith("#"))
    assert ci_target == "make test"
    recipes = [line for name in MAKEFILE.closure("test") for line in MAKEFILE.rules[name].recipe]
    created = next(i for i, line in enumerate(recipes) if "-m venv .venv" in line)
    first_install = next(i for i, line in enumerate(recipes) if "pip install" in line)
    assert created < first_install


def _fake(path: Path, log: Path) -> None:
    """A stand-in executable that only records how it was called."""
    path.write_text(f'#!/bin/sh\necho "{path.name} $*" >> "{log}"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _make(folder: Path, *goals: str) -> None:
    subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={sys.executable}", *goals],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )


@needs_make
def test_make_demo_then_make_typecheck_installs_each_level_once(tmp_path: Path) -> None:
    """The real Makefile in a folder whose .venv holds stand-ins that record their calls."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.log"
    for name in ("python", "tradeplane", "mypy"):
        _fake(bin_dir / name, log)

    def calls() -> list[str]:
        lines = [line.strip() for line in log.read_text().splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    _make(tmp_path, "demo")
    assert calls() == [
        "python -m pip install --quiet --upgrade pip",
        "python -m pip install --quiet -e .",
        "tradeplane demo",
    ]
    _make(tmp_path, "typecheck")
    assert calls() == ["python -m pip install --quiet -e .[dev]", "mypy"]
    _make(tmp_path, "demo", "typecheck")
    assert calls() == ["tradeplane demo", "mypy"]  # nothing installed again

    later = (tmp_path / ".venv" / ".installed-dev").stat().st_mtime + 10
    os.utime(tmp_path / "pyproject.toml", (later, later))  # a dependency changed
    _make(tmp_path, "typecheck")
    assert calls() == [
        "python -m pip install --quiet --upgrade pip",
        "python -m pip install --quiet -e .",
        "python -m pip install --quiet -e .[dev]",
        "mypy",
    ]


@needs_make
def test_make_demo_passes_args_to_the_demo() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "demo", "ARGS=--grpc-listen 127.0.0.1:0 --memory"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    demo = [line for line in dry_run.stdout.splitlines() if "tradeplane demo" in line]
    assert demo, dry_run.stdout
    assert demo[-1].endswith("tradeplane demo --grpc-listen 127.0.0.1:0 --memory")


@needs_make
def test_make_help_says_how_to_pass_options() -> None:
    listed = subprocess.run(
        ["make", "help"], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert 'ARGS="' in next(line for line in listed.splitlines() if "make demo" in line)
