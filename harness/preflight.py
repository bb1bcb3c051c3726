"""Validate before anything starts: every input a run will read, loaded once, before the first system.

``prepare(config, suites)`` refuses disallowed hosts, reads the policy (its severity threshold
becomes the run's), the claims file, the identities file, the target file, and asks each suite to load what it will read for this
configuration (``SuiteSpec.check_inputs``: the load profile, the contract profile and noise files,
the security claims, the chaos experiments). ``prepare_gameday`` does the same for a game day: its file
and everything it names, then the configuration it runs with. Anything wrong is a ``UsageError`` of one line — the
file, the field, what is allowed — so ``harness run`` and ``pytest`` exit 4 without having started
a process, bound a port or sent a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import HarnessConfig
from harness.errors import UsageError
from harness.safety import ensure_urls_allowed
from harness.suites import SuiteSpec

if TYPE_CHECKING:
    from harness.gameday.plan import Plan


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
    if config.target is not None:  # the target file: read, validated and its hosts checked
        from harness.platforms import target_from_config

        described = target_from_config(config)
        ensure_urls_allowed([described.base_url, described.openapi_url], config.allow_hosts)
    for spec in suites:
        if spec.check_inputs is not None:
            spec.check_inputs(config)
    return config


def prepare_gameday(path: Path, flags: dict[str, Any] | None = None) -> tuple[Plan, HarnessConfig]:
    """A game day's plan (the file, its experiments, load profile, guardrails, webhooks) and the configuration
    it runs with (the file's target, then ``flags``), validated like any run's before anything starts."""
    from harness.gameday.plan import make_plan
    from harness.gameday.target import day_config

    plan = make_plan(path)
    config = prepare(day_config(plan, flags), ())
    if config.platform.value == "local" and config.defects:
        from harness.platforms.local.refsys import validate_defects

        validate_defects(config.defects)  # the file's and the flags': one unknown name is exit 4 here
    _some_step_can_run(plan, config)
    return plan, config


def _some_step_can_run(plan: Plan, config: HarnessConfig) -> None:
    """Refuse a day none of whose steps the target's platform can inject (e.g. a kind cluster would be built
    only for every step to be "not applicable"); a day where some can runs, the others are marked so."""
    from harness.chaos.faults import load_fault_kinds
    from harness.platforms import platform_class

    platform = platform_class(config)
    kinds = load_fault_kinds()
    blocked = {p.id: [k for k in kinds.injected_by(p.experiment) if k not in platform.fault_kinds] for p in plan.steps}
    if plan.steps and all(blocked.values()):
        needs = "; ".join(f"{step} needs {', '.join(missing)}" for step, missing in blocked.items())
        can = ", ".join(sorted(platform.fault_kinds)) or "none"
        raise UsageError(f"{plan.source}: target.platform: {platform.name} cannot apply the faults of any step "
                         f"({needs}; it applies: {can})")


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
