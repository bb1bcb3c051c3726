"""From a ``ContractRun`` to Checks (one per operation × check, plus the document's) and Findings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.contract.findings import SECURITY_REFS, FailureRecord, harness_severity, to_finding
from harness.contract.runner import ContractRun
from harness.model import Check, Evidence, Finding, Sample, Severity, Status

SUITE = "contract"
CHECK_SEVERITY = {
    "not_a_server_error": Severity.HIGH, "ignored_auth": Severity.HIGH, "object_level_authorization": Severity.HIGH,
    "use_after_free": Severity.HIGH, "response_schema_conformance": Severity.MEDIUM,
    "status_code_conformance": Severity.MEDIUM, "content_type_conformance": Severity.MEDIUM,
    "negative_data_rejection": Severity.MEDIUM, "positive_data_acceptance": Severity.MEDIUM,
    "ensure_resource_availability": Severity.MEDIUM,
}
SPEC_SEVERITY = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW, "info": Severity.INFO}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "root"


def check_id(operation: str, check: str) -> str:
    """``("GET /analyses/{analysis_id}", "not_a_server_error")`` → ``contract.get_analyses_analysis_id.not_a_server_error``."""
    return f"{SUITE}.{slug(operation)}.{check}"


def spec_checks(run: ContractRun) -> list[Check]:
    out = []
    for verdict in run.spec.verdicts:
        status = Status.NOT_APPLICABLE if verdict.ok is None else Status.PASS if verdict.ok else Status.FAIL
        out.append(Check(
            id=f"{SUITE}.spec.{verdict.check}", suite=SUITE, category="contract", title=verdict.title,
            severity=SPEC_SEVERITY.get(verdict.severity, Severity.MEDIUM), status=status, message=verdict.message,
            evidence=Evidence(measured={"location": run.spec.location, "problems": verdict.details[:20]}),
        ))
    return out


def engine_check(run: ContractRun) -> Check:
    """The fuzzing run itself: did it run, how far, and did the engine report errors."""
    measured = {"seed": run.seed, "profile": run.profile.name, "stop_reason": run.stop_reason,
                "running_time_s": round(run.running_time_s, 2), "budget_s": run.profile.run_budget_s,
                "engine_time_s": round(run.engine_time_s, 2), "workers": run.profile.workers,
                "operations": len(run.operations), "phases": run.phases,
                "stateful_steps": run.stateful_steps, "linked_steps": run.linked_steps,
                "distinct_failures": len(run.defects), "known_noise": len(run.noise),
                "replayed_database": run.replayed_database, "target_noise_files": run.noise_files,
                "engine_errors": run.errors[:20], "analysis_warnings": run.analysis_warnings[:20]}
    if run.fatal:
        status, message = Status.ERROR, f"schemathesis could not run: {run.fatal}"
    elif run.errors:
        status = Status.ERROR
        message = f"{len(run.errors)} engine error(s), e.g. {run.errors[0]}; results for those operations are incomplete"
    else:
        status = Status.PASS
        message = (f"ran {run.running_time_s:.1f}s of a {run.profile.run_budget_s:g}s budget ({run.stop_reason}), "
                   f"seed {run.seed}, {run.stateful_steps} stateful steps ({run.linked_steps} through links)")
    return Check(id=f"{SUITE}.engine.run", suite=SUITE, category="contract", severity=Severity.HIGH,
                 title="Schemathesis fuzzing ran within its budget", status=status, message=message,
                 evidence=Evidence(measured=measured, notes=f"replay: --seed {run.seed} --profile {run.profile.name}"))


def operation_checks(run: ContractRun) -> list[Check]:
    failures: dict[tuple[str, str], list[FailureRecord]] = {}
    for record in run.failures:
        failures.setdefault((record.operation, record.check), []).append(record)
    out = []
    for operation in run.operations:
        for check in run.profile.check_names:
            out.append(_operation_check(run, operation, check, failures.get((operation, check), [])))
    return out


def _operation_check(run: ContractRun, operation: str, check: str, records: list[FailureRecord]) -> Check:
    tally = run.tallies.get((operation, check))
    defects = [r for r in records if r.noise_reason is None]
    noise = [r for r in records if r.noise_reason is not None]
    disabled = next((rule for rule in run.profile.known_noise
                     if rule.disables_check and rule.applies_to(operation, check)), None)
    owasp, cwe = SECURITY_REFS.get(check, ([], []))
    severity = CHECK_SEVERITY.get(check, Severity.LOW)
    measured = {"passed": tally.success if tally else 0, "failed": tally.failure if tally else 0,
                "errored": tally.error if tally else 0, "distinct_failures": len(defects), "known_noise": len(noise)}
    evidence = Evidence(measured=measured)
    if defects:
        status = Status.FAIL
        severity = max(harness_severity(r.severity, r.check) for r in defects)
        first = defects[0]
        message = "; ".join(f"{r.title} (HTTP {r.status_code})" for r in defects)[:500]
        evidence = Evidence(measured=measured, curl="\n".join(first.curl_steps),
                            samples=[_sample(r) for r in defects[:3]], notes=first.message[:1500] or None)
    elif disabled is not None:
        status, message = Status.WAIVED, f"known noise, not run on this operation: {disabled.reason}"
    elif noise:
        status = Status.WAIVED
        message = "known noise only: " + "; ".join(sorted({r.noise_reason or "" for r in noise}))
        evidence = Evidence(measured=measured, samples=[_sample(r) for r in noise[:2]])
    elif tally and tally.success:
        status, message = Status.PASS, f"{tally.success} responses passed"
    else:
        status = Status.NOT_APPLICABLE
        message = "not exercised: the check does not apply to this operation or the budget ran out first"
    return Check(id=check_id(operation, check), suite=SUITE,
                 category="security" if owasp else "contract", title=f"{operation}: {check}",
                 severity=severity, status=status, message=message, evidence=evidence, owasp=owasp, cwe=cwe)


def _sample(record: FailureRecord) -> Sample:
    return Sample(request="\n".join(record.curl_steps), status_code=record.status_code,
                  response_excerpt=record.response_excerpt, elapsed_ms=record.elapsed_ms)


def all_checks(run: ContractRun) -> list[Check]:
    checks = [*spec_checks(run), engine_check(run)]
    if run.spec.schema is not None:
        checks += operation_checks(run)
    return checks


def findings(run: ContractRun) -> list[Finding]:
    return [to_finding(record, check_id(record.operation, record.check)) for record in run.defects]


def write_run_artifact(run: ContractRun, out_dir: Path) -> Path:
    """``contract/run.json``: seed, budget, findings (secrets redacted by the model) for humans and replays."""
    path = out_dir / "run.json"
    path.write_text(json.dumps({
        "seed": run.seed, "profile": run.profile.model_dump(mode="json"), "base_url": run.base_url,
        "openapi": run.spec.location, "stop_reason": run.stop_reason, "running_time_s": run.running_time_s,
        "engine_time_s": run.engine_time_s, "phases": run.phases, "engine_errors": run.errors, "fatal": run.fatal,
        "replayed_database": run.replayed_database, "target_noise_files": run.noise_files,
        "findings": [f.model_dump(mode="json") for f in findings(run)],
        "known_noise": [{"operation": r.operation, "check": r.check, "reason": r.noise_reason, "title": r.title,
                         "occurrences": r.occurrences} for r in run.noise],
    }, indent=2))
    return path
