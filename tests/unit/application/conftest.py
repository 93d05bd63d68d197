"""Fixtures of the application tests: harnesses that fail the test on any unexpected handler error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.unit.application.harness import Harness, build


@pytest.fixture
def make() -> Iterator[Callable[..., Harness]]:
    """``make(**options)`` builds a harness (see ``harness.build``); a handler that raised fails the
    test at teardown unless the test set ``expect_failures``."""
    built: list[Harness] = []

    def factory(**options: Any) -> Harness:
        harness = build(**options)
        built.append(harness)
        return harness

    yield factory
    for harness in built:
        if not harness.expect_failures:
            assert harness.failures == [], f"handlers raised: {harness.failures}"
