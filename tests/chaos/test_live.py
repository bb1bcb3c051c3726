"""The chaos suite against the real reference system: clean, it holds; each resilience defect is caught.

Slow (a local platform per case, ~45 s per experiment). The breaker reset is 4 s so GPU-loss cycles
several times in 14 s; rate limit and quota are raised so the background load never meets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.chaos.report import ExperimentReport
from harness.chaos.runner import ChaosRunner
from harness.chaos.spec import EXPERIMENT_DIR, experiment_paths
from harness.model import Status
from harness.platforms.local.platform import LocalPlatform

ENV = {"REFSYS_BREAKER_RESET_S": "4", "REFSYS_RATE_LIMIT": "1000", "REFSYS_TENANT_DAILY_QUOTA": "100000"}

# defect -> (the experiment that must catch it, the check that must fail)
CAUGHT_BY = {
    "no_fallback": ("gpu_loss", "hypothesis"),
    "no_circuit_breaker": ("gpu_loss", "breaker_cycle"),
    "breaker_never_half_open": ("gpu_loss", "breaker_cycle"),
    "no_retry_jitter": ("gpu_loss", "retry_jitter"),
    "data_loss_on_restart": ("gateway_replica_kill", "no_data_lost"),
}


@contextmanager
def runner(tmp_path: Path, *, defects: tuple[str, ...] = (), backend: str = "sqlite",
           redis: bool = False) -> Iterator[ChaosRunner]:
    platform = LocalPlatform(defects=defects, backend=backend, redis=redis, state_dir=tmp_path / "state",
                             env=ENV, startup_timeout_s=40)
    with platform as target:
        yield ChaosRunner(platform, target, out_dir=tmp_path / "chaos")


def check(report: ExperimentReport, aspect: str) -> dict:
    found = [c for c in report.checks() if c["id"] == f"chaos.{report.name}.{aspect}"]
    assert found, f"no {aspect} check; checks: {[c['id'] for c in report.checks()]}"
    return found[0]


@pytest.mark.slow
def test_clean_reference_system_holds_every_hypothesis(tmp_path: Path) -> None:
    with runner(tmp_path, backend="postgres", redis=True) as chaos:
        reports = [chaos.run(path) for path in experiment_paths()]
    problems = [f"{c['id']}: {c['status'].value}: {c['message']}" for r in reports for c in r.checks()
                if c["status"] not in (Status.PASS, Status.NOT_APPLICABLE)]
    assert not problems, "\n".join(problems)
    for report in reports:
        if report.not_applicable is None:
            assert report.time_to_recover_s is not None, f"{report.name}: time to recover measured"
            assert Path(report.artifacts[0]).name == f"{report.name}.journal.json"


@pytest.mark.slow
@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_resilience_defect_is_caught_by_its_experiment(defect: str, tmp_path: Path) -> None:
    experiment, aspect = CAUGHT_BY[defect]
    with runner(tmp_path, defects=(defect,)) as chaos:
        report = chaos.run(EXPERIMENT_DIR / f"{experiment}.yaml")
    assert report.inconclusive is None, report.inconclusive
    caught = check(report, aspect)
    assert caught["status"] is Status.FAIL, f"{defect} not caught: {caught['message']}"
    assert caught["evidence"].measured, "the deviation is in the evidence"
    print(f"{defect}: {caught['message']}")
