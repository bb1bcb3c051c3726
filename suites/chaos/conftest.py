"""One test per experiment in ``scenarios/chaos``: all of them, or the ``smoke`` subset for ``--profile smoke``."""

from __future__ import annotations

import pytest

from harness.chaos.extension import experiments_for_profile
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "experiment_path" not in metafunc.fixturenames:
        return
    from harness.pytest_plugin import CONFIG_KEY

    config = metafunc.config.stash.get(CONFIG_KEY, None)
    profile = config.profile if config is not None else "smoke"
    paths = experiments_for_profile(profile)
    metafunc.parametrize("experiment_path", paths, ids=[p.stem for p in paths])
