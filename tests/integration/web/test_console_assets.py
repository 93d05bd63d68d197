"""The console's pages and files: served from the package, nothing from elsewhere.

Every script, style and image a page names is this origin's and is served; the third-party
files are those recorded in ``vendor/SOURCES.tsv`` (checksums included); every answer
carries the Content-Security-Policy that keeps the browser from loading anything else; and
the packaging ships every file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from entrypoints.web.gateway import STATIC
from entrypoints.web.serve import RunningGateway
from tests.integration.web.test_gateway import client

REPO = Path(__file__).resolve().parents[3]
VENDOR = STATIC / "vendor"
OWN_FILES = sorted(p for p in STATIC.iterdir() if p.is_file())
REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')


def sources() -> dict[str, tuple[str, str]]:
    """file -> (package@version, sha256), from SOURCES.tsv."""
    found = {}
    for line in (VENDOR / "SOURCES.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, package, _, digest = line.split("\t")
        found[name] = (package, digest)
    return found


def test_every_vendored_file_is_recorded_with_its_checksum() -> None:
    recorded = sources()
    present = {p.name for p in VENDOR.iterdir()} - {"SOURCES.tsv"}
    assert present == set(recorded)
    for name, (_, digest) in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_the_packages_licenses_ship_beside_their_code() -> None:
    packages = {package for package, _ in sources().values()}
    for package in packages:
        names = [n for n, (p, _) in sources().items() if p == package]
        assert any("LICENSE" in n for n in names), package


@pytest.mark.parametrize("path", OWN_FILES, ids=lambda p: p.name)
def test_our_own_files_name_no_other_origin(path: Path) -> None:
    text = path.read_text()
    text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a namespace, never fetched
    assert not re.search(r"https?://|//cdn|\bcdn\.", text), path.name


def test_the_wheel_ships_every_console_file() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["entrypoints.web"]
    for path in [*OWN_FILES, *VENDOR.iterdir()]:
        relative = path.relative_to(STATIC.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


@pytest.mark.parametrize("page", ["/", "/docs"])
async def test_pages_load_only_this_origins_files_and_each_is_served(
    gateway: RunningGateway, page: str
) -> None:
    async with client(gateway) as http:
        html = await http.get(page)
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        policy = html.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert html.headers["x-content-type-options"] == "nosniff"
        references = REFERENCE.findall(html.text)
        assert references
        for reference in references:
            if reference.startswith("#"):
                continue
            assert reference.startswith("/static/"), reference
            served = await http.get(reference)
            assert served.status_code == 200, reference
            assert served.content == (STATIC / reference.removeprefix("/static/")).read_bytes()


async def test_api_answers_carry_the_policy_too(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        answer = await http.get("/api/v1/status")
        assert answer.status_code == 401
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        missing = await http.get("/static/nothing.js")
        assert missing.status_code == 404
        escape = await http.get("/static/../gateway.py")
        assert escape.status_code == 404
        encoded = await http.get("/static/%2e%2e/gateway.py")
        assert encoded.status_code == 404
