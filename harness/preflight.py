"""Validate before anything starts: every input a run will read, loaded once, before the first system.

``prepare(config, suites)`` refuses disallowed hosts, reads the policy (its severity threshold
becomes the run's), the claims file, the identities file, and asks each suite to load what it will read for this
configuration (``SuiteSpec.check_inputs``: the load profile, the contract profile and noise files,
the security claims, the chaos experiments). Anything wrong is a ``UsageError`` of one line — the
file, the field, what is allowed — so ``harness run`` and ``pytest`` exit 4 without having started
a process, bound a port or sent a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.config import HarnessConfig
from harness.safety import ensure_urls_allowed
from harness.suites import SuiteSpec


def prepare(config: HarnessConfig, suites: Iterable[SuiteSpec]) -> HarnessConfig:
    """The configuration the run will use, after every input it names was read and validated."""
    ensure_urls_allowed([config.target_url, config.openapi_url], config.allow_hosts)
    if config.policy is not None:
        from harness.policy import load_policy

        config = config.model_copy(update={"severity_threshold": load_policy(config.policy).severity_threshold})
    if config.claims is not None:
        from harness.claims.model import load_claims_file

        load_claims_file(config.claims)
    if config.identities_file is not None:
        from harness.platforms.external import load_identities

        load_identities(config.identities_file)
    for spec in suites:
        if spec.check_inputs is not None:
            spec.check_inputs(config)
    return config


def suites_under(paths: Iterable[str], invocation_dir: Path) -> list[SuiteSpec]:
    """The registered suites a pytest invocation's arguments point into (or that lie inside them)."""
    from harness.plugins import registered_suites

    wanted = []
    for arg in paths:
        if arg.startswith("-"):
            continue
        path = (invocation_dir / arg.split("::", 1)[0]).resolve()
        wanted.append(path)
    chosen = []
    for spec in registered_suites().values():
        root = spec.path.resolve()
        if any(path == root or root in path.parents or path in root.parents for path in wanted):
            chosen.append(spec)
    return chosen
