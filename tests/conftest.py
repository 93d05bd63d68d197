"""Shared test configuration: hypothesis profiles.

``ci`` (chosen when CI=true) runs enough examples to matter; ``dev`` is quick.
Pick one explicitly with HYPOTHESIS_PROFILE=ci|dev.
"""

import os

from hypothesis import HealthCheck, settings

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
