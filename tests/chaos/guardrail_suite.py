"""The chaos suite's test, over the guardrail experiments: run explicitly by test_guardrail.py in a child pytest.

Not collected on its own (its name does not start with ``test_``): the experiments abort on purpose,
so the run they make exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.chaos.extension import experiment_paths
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - a fresh system for this run
from suites.chaos import SUITE
from suites.chaos.test_chaos import test_experiment as run_as_the_suite_does

EXPERIMENTS = experiment_paths(Path(__file__).parent / "experiments" / "guardrails")
pytestmark = pytest.mark.harness_suite(SUITE.name)


@pytest.mark.parametrize("experiment_path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment(experiment_path: Path, harness_config: Any, harness_platform: Any, harness_target: Any,  # noqa: F811
                    harness_run: Any, record_check: Any, harness_claims: Any) -> None:  # (fixtures re-declared above)
    run_as_the_suite_does(experiment_path, harness_config, harness_platform, harness_target, harness_run, record_check,
                          harness_claims)
