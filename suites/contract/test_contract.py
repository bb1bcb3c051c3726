"""Fuzz the target's OpenAPI within the profile's budget; one Check per operation × check.

The seed is printed first (and kept in the report and ``contract/run.json``). ``--seed N`` replays
a run: the newest earlier run in the report folder with that seed and profile lends its Hypothesis
example database (``<run>/contract/hypothesis-db``), so its failures are tried first, and the run
uses one worker so the seed alone decides the order. ``--openapi-url`` (a URL or a file) overrides
the OpenAPI document the target publishes.
"""

from __future__ import annotations

from harness.contract import all_checks, findings, load_contract_profile, run_contract, write_run_artifact
from harness.contract.rerun import previous_database
from harness.contract.runner import new_seed
from harness.events import ArtifactSaved, Progress
from harness.run_context import relative_to_cwd


def test_openapi_contract(harness_config, harness_target, harness_run, record_check, record_finding) -> None:
    profile = load_contract_profile(harness_config.profile)
    replaying = harness_config.seed is not None
    seed = harness_config.seed if replaying else new_seed()
    database = previous_database(harness_config.report_dir, seed, profile.name, exclude=harness_run.run_dir) \
        if replaying else None
    started = (f"contract: seed {seed} (replay with --seed {seed}), profile {profile.name}, "
               f"budget {profile.run_budget_s:g}s" + (f", replaying the database of {database}" if database else ""))
    print(started)
    harness_run.emit(Progress(text=started))
    out_dir = harness_run.run_dir / "contract"
    run = run_contract(harness_target, profile, out_dir=out_dir, seed=seed, allow_hosts=harness_config.allow_hosts,
                       openapi=harness_config.openapi_url, replay_database=database,
                       workers=1 if replaying else None)
    print(run.summary())
    harness_run.emit(Progress(text=run.summary()))
    for check in all_checks(run):
        record_check(check)
    for finding in findings(run):
        record_finding(finding)
    harness_run.emit(ArtifactSaved(suite=record_check.suite, paths=[
        relative_to_cwd(write_run_artifact(run, out_dir)), relative_to_cwd(out_dir / "hypothesis-db")]))
