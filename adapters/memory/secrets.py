"""Secret stores: a dict for tests, the process environment for simple deployments."""

from __future__ import annotations

import os
from collections.abc import Mapping


class MissingSecret(KeyError):
    """A secret was asked for by name and is not configured; the message never holds a value."""

    def __str__(self) -> str:
        return f"secret {self.args[0]!r} is not configured"


class InMemorySecretStore:
    __slots__ = ("_secrets",)

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._secrets = dict(secrets or {})

    def get(self, name: str) -> str:
        try:
            return self._secrets[name]
        except KeyError:
            raise MissingSecret(name) from None

    def __repr__(self) -> str:  # never print the values
        return f"InMemorySecretStore(names={sorted(self._secrets)})"


class EnvironmentSecretStore:
    """Reads ``TRADEPLANE_SECRET_<NAME>`` from the environment when asked, not at import."""

    __slots__ = ("_prefix",)

    def __init__(self, prefix: str = "TRADEPLANE_SECRET_") -> None:
        self._prefix = prefix

    def get(self, name: str) -> str:
        value = os.environ.get(self._prefix + name.upper())
        if value is None:
            raise MissingSecret(name)
        return value
