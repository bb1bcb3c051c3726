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
    if config is not None and config.target is not None:  # a system the user runs: its target file decides
        params = external_experiments(config, profile)
        metafunc.parametrize("experiment_path", [p for p, _ in params], ids=[i for _, i in params])
        return
    paths = experiments_for_profile(profile)
    metafunc.parametrize("experiment_path", paths, ids=[p.stem for p in paths])


def external_experiments(config, profile: str) -> list[tuple[object, str]]:  # type: ignore[no-untyped-def]
    """The target file's own experiments, else the external templates for each component it names (kill and
    pause; restart on profiles other than smoke; network_disconnect for containers with a network)."""
    from harness.chaos.extension import EXTERNAL_TEMPLATES, templates_for
    from harness.platforms import target_from_config

    target = target_from_config(config)
    if target.extra.get("chaos_experiments"):
        from pathlib import Path

        return [(Path(p), Path(p).stem) for p in target.extra["chaos_experiments"]]
    components = target.extra.get("chaos_components") or {}
    if not components:
        return [(None, "no_chaos_components")]
    return [((template, name), f"{template.stem}[{name}]") for name, spec in components.items()
            for template in templates_for(spec, profile, EXTERNAL_TEMPLATES)]
