"""Shared test configuration: hypothesis profiles.

``ci`` (chosen when CI=true) runs enough examples to matter; ``dev`` is quick.
Pick one explicitly with HYPOTHESIS_PROFILE=ci|dev.
"""

import os
import tempfile

from hypothesis import HealthCheck, settings

# The per-user data directory (the default data_dir) of every test is a temporary one: no test
# may write state into the home directory of whoever runs the suite.
_REAL_USER_DATA = os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "tradeplane"
)
_USER_DATA_BEFORE = os.path.exists(_REAL_USER_DATA)
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="tradeplane-test-xdg-")

settings.register_profile(
    "ci",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=60, stateful_step_count=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


_REPO_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
_DATA_BEFORE = os.path.exists(_REPO_DATA)


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """A test that keeps state must keep it in its own tmp_path, never in the checkout's data/
    (the default data_dir of a configuration), where runs would leak into each other."""
    if not _DATA_BEFORE and os.path.exists(_REPO_DATA):
        raise SystemExit(f"a test wrote {_REPO_DATA}: give it a data_dir under tmp_path")
    if not _USER_DATA_BEFORE and os.path.exists(_REAL_USER_DATA):
        raise SystemExit(f"a test wrote {_REAL_USER_DATA}: the per-user data directory is not for tests")
