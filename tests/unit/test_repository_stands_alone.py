"""The repository stands alone: no tracked file points at notes kept outside it, nor at how the
work on it was organised (its issues and their numbers, rounds of work, checks it had to pass).

A reader has the repository and nothing else: a pointer to a sibling folder, to a design or
style document that is not in it, or to an issue tracker's numbering and vocabulary leads
nowhere. Facts belong in the repository (``docs/``), goals are stated as the project's own.

The patterns are heuristics kept narrow on purpose: ``issued``, ``in brief``, ``round trip``
and an order's ``acceptance`` are ordinary words here and must stay allowed (see
``test_ordinary_words_are_not_references``). This file's own text does not match them: the
phrases it plants are assembled from pieces.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The names are assembled from pieces, like every phrase below that the checker looks for, so
# that this file's own text never matches.
DESIGN_MD, STYLE_MD = "DESIGN" + ".md", "STYLE" + ".md"
PROTOCOLS_MD = "exchange" + "-protocols.md"
OUTSIDE_NOTES = (DESIGN_MD, STYLE_MD, "LIBRARIES" + ".md", PROTOCOLS_MD)
"""Names of notes that were never part of the repository: a mention is a dangling pointer,
unless a tracked file of that name exists (then it is a reference to it, which is fine)."""

GENERATED = ("_pb2",)
"""Generated code (protoc's ``*_pb2*.py`` / ``.pyi``) is not checked: nobody writes it."""
VENDORED = frozenset({"package-lock.json"})
"""Lock files are written by tools and hold third-party text."""
VENDORED_DIRS = ("entrypoints/web/static/vendor/",)
"""Third-party files shipped as published (their checksums are tested elsewhere)."""

_WORD_END = r"(?![\w-])"
_ORGANISATION: tuple[tuple[str, str], ...] = (
    (r"\bissue\s*#\s*\d+", "an issue number"),
    (r"\bissue[- ]targets?" + _WORD_END, "an issue's target"),
    (r"\b(?:the|this|that|per|our)\s+issue(?:'s)?" + _WORD_END, "an issue the work came from"),
    (
        r"\bthe\s+(?!(?:same|real|known|underlying|actual)\b)[a-z]+\s+issue" + _WORD_END,
        "an issue the work came from",
    ),
    (
        r"\b(?:this|next|last|previous|earlier|later)\s+round\b(?![- ]trip)",
        "a round of work",
    ),
    (r"\boptimi[sz]ation\s+pass(?:es)?\b", "a planned pass of work"),
    (r"\bacceptance\s+(?:checks?|criteri(?:on|a)|tests?)\b", "a check the work had to pass"),
    (r"\b(?:the|this|my|your)\s+brief\b", "a brief the work came from"),
    (r"\bpull\s+requests?\b|\bPR\s*#\s*\d+", "a merge request"),
)


def tracked_files(root: Path) -> list[str]:
    """The paths ``git ls-files`` lists under ``root`` (POSIX, relative to it)."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True, timeout=60
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def rules(paths: Iterable[str]) -> list[tuple[re.Pattern[str], str]]:
    """The patterns to look for, given the tracked ``paths`` (which decide what is outside)."""
    present = {PurePosixPath(path).name.lower() for path in paths}
    found: list[tuple[re.Pattern[str], str]] = [
        (re.compile(r"\.\./shared\b"), "a folder outside the repository"),
    ]
    for name in OUTSIDE_NOTES:
        if name.lower() in present:
            continue
        stem = re.escape(name.removesuffix(".md"))
        # The bare word is only a reference when it cannot be English (the hyphenated name).
        suffix = r"(?:\.md)?" if "-" in name else r"\.md"
        pattern = re.compile(rf"(?<![\w-]){stem}{suffix}{_WORD_END}", re.IGNORECASE)
        found.append((pattern, f"{name}, which is not in the repository"))
    found += [(re.compile(pattern, re.IGNORECASE), what) for pattern, what in _ORGANISATION]
    return found


def _checked(path: str) -> bool:
    name = PurePosixPath(path).name
    if path.startswith(VENDORED_DIRS):
        return False
    return name not in VENDORED and not any(marker in name for marker in GENERATED)


def _text(file: Path) -> str | None:
    """The file's text, or None for what is not text (binary, not UTF-8) or not a regular file."""
    if file.is_symlink() or not file.is_file():
        return None  # a symlink's target is checked on its own; a path being moved is skipped
    data = file.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def violations(root: Path, paths: Iterable[str]) -> list[str]:
    """``path:line: what (the line)`` for each line of ``paths`` (under ``root``) that refers to
    something outside the repository or to how the work was organised; one entry per line."""
    paths = list(paths)
    patterns = rules(paths)
    problems: list[str] = []
    for path in paths:
        if not _checked(path):
            continue
        text = _text(root / path)
        if text is None:
            continue
        hits: dict[int, list[str]] = {}
        for pattern, what in patterns:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                if what not in hits.setdefault(line, []):
                    hits[line].append(what)
        lines = text.splitlines()
        for line, whats in sorted(hits.items()):
            problems.append(f"{path}:{line}: refers to {'; '.join(whats)}: {lines[line - 1].strip()[:160]}")
    return problems


# -- the repository ----------------------------------------------------------------------------


def test_no_tracked_file_refers_outside_the_repository_or_to_how_the_work_was_organised() -> None:
    problems = violations(ROOT, tracked_files(ROOT))
    if problems:
        pytest.fail("a reader of the repository cannot follow:\n" + "\n".join(problems), pytrace=False)


# -- the checker -------------------------------------------------------------------------------

SHARED = "../" + "shared"
ISSUE = "iss" + "ue"


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        (f"The design lives in `{SHARED}/NOTES.md`.", "a folder outside the repository"),
        (f"Dependencies point inward, as in {DESIGN_MD}.", f"{DESIGN_MD}, which is not in"),
        ("as published (" + "exchange" + "-protocols §1.4)", f"{PROTOCOLS_MD}, which is not in"),
        ("named for what happened, as in " + "style" + ".md", f"{STYLE_MD}, which is not in"),
        (f"| figure | measured | {ISSUE} target |", "an issue's target"),
        (f"markers (from the persistence {ISSUE} on)", "an issue the work came from"),
        (f"The {ISSUE}'s check: copy the printed line.", "an issue the work came from"),
        (f"fixed in {ISSUE} #12", "an issue number"),
        ("README: live-path figures after this " + "round", "a round of work"),
        ("what the next optimization " + "pass must cut", "a planned pass of work"),
        ("the " + "acceptance" + " check of the work", "a check the work had to pass"),
        ("as the " + "brief" + " asked", "a brief the work came from"),
        ("see pull " + "request 7", "a merge request"),
    ],
)
def test_the_checker_catches_a_planted_reference(tmp_path: Path, planted: str, expected: str) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text(f"# Notes\n\n{planted}\n")

    problems = violations(tmp_path, ["docs/notes.md"])

    assert len(problems) == 1, problems
    assert problems[0].startswith("docs/notes.md:3: refers to ")
    assert expected in problems[0]


def test_the_checker_names_each_line_once_and_follows_a_wrapped_phrase(tmp_path: Path) -> None:
    text = f"one\nThe {ISSUE}'s " + "acceptance" + f" check\nfrom the persistence\n{ISSUE} on\n"
    (tmp_path / "README.md").write_text(text)

    problems = violations(tmp_path, ["README.md"])

    assert [problem.split(": ")[0] for problem in problems] == ["README.md:2", "README.md:3"]
    assert "a check the work had to pass" in problems[0]
    assert "an issue the work came from" in problems[0]


@pytest.mark.parametrize(
    "ordinary",
    [
        f"raise invalid(field, 'is not a token this server {ISSUE}d')",
        f"the client {ISSUE}s a SUBSCRIBE per batch",
        f"it hits the same {ISSUE} as the REST call",
        "## The domain in brief",
        "one round trip per call; rounded to the tick; this round-trip cost",
        "the one after the acceptance, and the fill's commit",
        "the design of the book; the style of the page",
        "the shared cache; this shared machine",
    ],
)
def test_ordinary_words_are_not_references(tmp_path: Path, ordinary: str) -> None:
    (tmp_path / "notes.md").write_text(ordinary + "\n")

    assert violations(tmp_path, ["notes.md"]) == []


def test_a_note_that_is_in_the_repository_may_be_named(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / DESIGN_MD).write_text("# Design\n")
    (tmp_path / "README.md").write_text(f"The design is in docs/{DESIGN_MD}.\n")

    assert violations(tmp_path, ["README.md", f"docs/{DESIGN_MD}"]) == []


def test_generated_vendored_binary_and_missing_files_are_not_read(tmp_path: Path) -> None:
    planted = f"see {SHARED}/NOTES.md\n"
    (tmp_path / "api_pb2.py").write_text(planted)
    (tmp_path / "package-lock.json").write_text(planted)
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n\0" + planted.encode())
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 " + planted.encode())
    paths = ["api_pb2.py", "package-lock.json", "chart.png", "latin1.txt", "moved/away.py"]

    assert violations(tmp_path, paths) == []


def test_tracked_files_lists_what_git_tracks() -> None:
    tracked = tracked_files(ROOT)

    assert "README.md" in tracked
    assert "tests/unit/test_dependency_rule.py" in tracked
