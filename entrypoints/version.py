"""The installed version of tradeplane, for ``--version`` and the gRPC engine info."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The version pip installed, or ``0+unknown`` in a source tree that was never installed."""
    try:
        return version("tradeplane")
    except PackageNotFoundError:
        return "0+unknown"
