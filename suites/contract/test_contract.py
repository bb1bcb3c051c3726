"""Fuzz the target's OpenAPI within the profile's budget; one Check per operation × check.

The seed is printed first (and kept in the report and ``contract/run.json``); ``--seed N`` replays a
run, and the Hypothesis example database in ``<run>/contract/hypothesis-db`` replays known failures first.
"""

from __future__ import annotations

from harness.contract import all_checks, findings, load_contract_profile, run_contract, write_run_artifact
from harness.contract.runner import new_seed
from harness.run_context import relative_to_cwd

RECORDED_FIELDS = ("id", "title", "status", "severity", "category", "message", "evidence", "owasp", "cwe")


def test_openapi_contract(harness_config, harness_target, harness_run, record_check) -> None:
    profile = load_contract_profile(harness_config.profile)
    seed = harness_config.seed if harness_config.seed is not None else new_seed()
    started = f"contract: seed {seed} (replay with --seed {seed}), profile {profile.name}, budget {profile.max_time_s}s"
    print(started)
    harness_run.progress(started)
    out_dir = harness_run.run_dir / "contract"
    run = run_contract(harness_target, profile, out_dir=out_dir, seed=seed, allow_hosts=harness_config.allow_hosts)
    print(run.summary())
    harness_run.progress(run.summary())
    for check in all_checks(run):
        record_check(**{name: getattr(check, name) for name in RECORDED_FIELDS})
    suite = harness_run.suite("contract")
    suite.findings.extend(findings(run))
    suite.artifacts.append(relative_to_cwd(write_run_artifact(run, out_dir)))
    suite.artifacts.append(relative_to_cwd(out_dir / "hypothesis-db"))
