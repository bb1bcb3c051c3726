"""The gate's judgement on hand-made reports: what blocks, what is known, waived, warned, and in which order."""

from __future__ import annotations

from datetime import date, timedelta

from harness.exitcodes import ExitCode
from harness.gate.baseline import from_run
from harness.gate.evaluate import evaluate
from harness.gate.policy import Policy
from harness.gate.waivers import Waiver
from harness.model import ClaimVerdict, Metric, Severity, Status, Verdict
from tests.gate.factory import claim, make_check, make_finding, make_run, p95

TODAY = date(2026, 3, 1)
BOLA = "security.authz.bola"


def bola_run(*locations: str):
    findings = [make_finding(BOLA, where, Severity.CRITICAL) for where in locations]
    checks = [make_check(BOLA, Status.FAIL, Severity.CRITICAL, owasp=["API1:2023"]) for _ in locations]
    return make_run(make_check("security.headers.hsts"), *checks, findings=findings)


def waiver(days: int, **target: str) -> Waiver:
    return Waiver(reason="tenant scoping lands in PLAT-42", owner="alice", expires=TODAY + timedelta(days=days), **target)


def test_a_failed_check_blocks_at_the_threshold_and_warns_below_it():
    run = make_run(make_check("load.smoke.p95.all", Status.FAIL, Severity.MEDIUM),
                   make_check("security.headers.referrer_policy", Status.FAIL, Severity.LOW))
    result = evaluate(run, Policy(), today=TODAY)
    assert result.exit_code == ExitCode.NOT_READY
    assert [kind for kind, _ in result.blocking] == ["failed"]
    assert result.blocking[0][1].startswith("load.smoke.p95.all fail (medium)")
    assert any("security.headers.referrer_policy" in w and "not blocking" in w for w in result.warnings)


def test_with_a_baseline_only_new_findings_block():
    main = from_run(bola_run("GET /analyses/{id}"), "main")
    known = evaluate(bola_run("GET /analyses/{id}"), Policy(), baseline=main, today=TODAY)
    assert known.verdict is Verdict.READY and len(known.known) == 1
    new = evaluate(bola_run("GET /analyses/{id}", "DELETE /analyses/{id}"), Policy(), baseline=main, today=TODAY)
    assert [kind for kind, _ in new.blocking] == ["new finding"]
    assert "DELETE /analyses/{id}" in new.blocking[0][1] and "GET" not in new.blocking[0][1].split(":")[0]
    assert [(f.location, blocks) for f, blocks in new.new_findings] == [("DELETE /analyses/{id}", True)]


def test_regressions_come_first_and_fixed_checks_are_listed():
    before = make_run(make_check("a.b.passes"), make_check("a.b.fixed", Status.FAIL),
                      metrics=[p95("load.smoke.op.p95_ms", 20, 18, 23)])
    after = make_run(make_check("a.b.passes", Status.FAIL, Severity.HIGH), make_check("a.b.fixed"),
                     make_check("a.b.brand_new", Status.FAIL, Severity.HIGH),
                     metrics=[p95("load.smoke.op.p95_ms", 900, 850, 950)])
    result = evaluate(after, Policy(), baseline=from_run(before, "main"), today=TODAY)
    kinds = [kind for kind, _ in result.blocking]
    assert kinds == ["regression", "regression", "failed"]
    assert any(text.startswith("a.b.passes pass → fail (high)") for _, text in result.blocking)
    assert any(text.startswith("load.smoke.op.p95_ms: 20 ms → 900 ms") for _, text in result.blocking)
    assert result.fixed == ["a.b.fixed"]


def test_a_known_failure_without_findings_does_not_block():
    before = make_run(make_check("load.smoke.p95.all", Status.FAIL))
    result = evaluate(make_run(make_check("load.smoke.p95.all", Status.FAIL)), Policy(),
                      baseline=from_run(before, "main"), today=TODAY)
    assert result.verdict is Verdict.READY and result.known == ["load.smoke.p95.all fail (medium): failed in the baseline too"]


def test_a_waiver_turns_a_blocking_failure_into_a_waived_line_with_its_reason():
    result = evaluate(bola_run("GET /x"), Policy(waivers=[waiver(60, check=BOLA, id="bola-scope")]), today=TODAY)
    assert result.exit_code == ExitCode.READY
    assert result.waived == [f"{BOLA} fail (critical) waived by 'bola-scope' until 2026-04-30 (owner alice): "
                             "tenant scoping lands in PLAT-42"]
    assert result.warnings == []


def test_an_expired_waiver_blocks_and_says_so_by_name_and_date():
    result = evaluate(bola_run("GET /x"), Policy(), waivers=[waiver(0, check=BOLA, id="bola-scope")], today=TODAY)
    assert result.exit_code == ExitCode.NOT_READY
    (_kind, line), = result.blocking
    assert line.endswith("waiver 'bola-scope' (check security.authz.bola, owner alice) expired on 2026-03-01")


def test_a_waiver_near_its_expiry_warns_and_a_stale_one_warns():
    result = evaluate(bola_run("GET /x"), Policy(), today=TODAY,
                      waivers=[waiver(14, check=BOLA), waiver(90, check="security.headers.hsts", id="hsts"),
                               waiver(-3, fingerprint="0123456789abcdef", id="old")])
    assert result.exit_code == ExitCode.READY
    assert result.warnings == [
        "waiver 'security.authz.bola' (check security.authz.bola, owner alice) expires in 14 days (2026-03-15)",
        "waiver 'hsts' (check security.headers.hsts, owner alice) matches nothing in this report (stale): remove it",
        "waiver 'old' (finding 0123456789abcdef, owner alice) expired on 2026-02-26 and matches nothing in this "
        "report (stale): remove it"]


def test_a_fingerprint_waiver_covers_that_finding_only():
    run = bola_run("GET /x", "DELETE /x")
    get_x = run.all_findings()[0].fingerprint
    result = evaluate(run, Policy(waivers=[waiver(30, fingerprint=get_x)]), today=TODAY)
    assert result.exit_code == ExitCode.NOT_READY
    (_kind, line), = result.blocking
    assert "at DELETE /x" in line and "GET /x" not in line
    assert result.waived and "GET /x" in result.waived[0]


def test_a_refuted_claim_blocks_unless_known_or_waived():
    refuted = make_run(make_check("a.b.c"), claims=[claim("api.rate_limit", ClaimVerdict.REFUTED, "measured 240/min")])
    result = evaluate(refuted, Policy(), today=TODAY)
    assert result.blocking == [("refuted claim", "api.rate_limit (claim api.rate_limit): measured 240/min")]
    assert evaluate(refuted, Policy(refuted_claims="warn"), today=TODAY).verdict is Verdict.READY
    assert evaluate(refuted, Policy(), baseline=from_run(refuted, "main"), today=TODAY).verdict is Verdict.READY
    waived = evaluate(refuted, Policy(waivers=[waiver(30, claim="api.rate_limit")]), today=TODAY)
    assert waived.verdict is Verdict.READY and "waived by 'api.rate_limit'" in waived.waived[0]


LEVELS = Policy.model_validate({"levels": [
    {"name": "bronze", "checks": ["security.headers.*"]},
    {"name": "silver", "checks": ["security.authz.*"]},
    {"name": "gold", "checks": ["chaos.*.recovery"], "claims": ["api.rate_limit"]},
]})


def test_levels_name_what_the_next_one_needs():
    result = evaluate(bola_run("GET /x"), LEVELS.model_copy(update={"severity_threshold": Severity.CRITICAL}),
                      today=TODAY)
    assert result.levels is not None and result.levels.reached == "bronze"
    assert result.levels.line() == ("level bronze [bronze ✓ silver ✗ gold ✗]; missing for silver: "
                                    "security.authz.bola fail")


def test_a_required_level_that_is_missed_blocks():
    policy = LEVELS.model_copy(update={"require_level": "gold"})
    run = make_run(make_check("security.headers.hsts"), make_check(BOLA), make_check("chaos.kill.recovery"),
                   claims=[claim("api.rate_limit", ClaimVerdict.INCONCLUSIVE)])
    result = evaluate(run, policy, today=TODAY)
    assert result.blocking == [("level", "reached silver, policy requires gold; missing for gold: "
                                         "claim api.rate_limit inconclusive")]
    run.claims = [claim("api.rate_limit", ClaimVerdict.VERIFIED)]
    assert evaluate(run, policy, today=TODAY).levels.reached == "gold"


def test_a_live_waiver_counts_towards_a_level():
    policy = LEVELS.model_copy(update={"require_level": "silver", "waivers": [waiver(30, check=BOLA)]})
    result = evaluate(bola_run("GET /x"), policy, today=TODAY)
    assert result.verdict is Verdict.READY and result.levels.reached == "silver"


def test_what_no_policy_can_change_comes_first():
    run = bola_run("GET /x")
    run.aborted_reason = "SIGINT"
    assert evaluate(run, Policy(), today=TODAY).exit_code == ExitCode.ABORTED
    skipped = make_run(make_check("load.smoke.p95.all", Status.SKIPPED))
    skipped.suite("load").inconclusive = "load generator unhealthy"
    assert evaluate(skipped, Policy(), today=TODAY).exit_code == ExitCode.INCONCLUSIVE


def test_a_baseline_from_another_profile_warns():
    before = make_run(make_check("a.b.c"), profile="stress",
                      metrics=[Metric(name="load.stress.all.p95_ms", value=1, unit="ms", samples=1)])
    result = evaluate(make_run(make_check("a.b.c")), Policy(), baseline=from_run(before, "nightly"), today=TODAY)
    assert result.verdict is Verdict.READY and "ran profile stress, this run smoke" in result.warnings[0]


def test_a_check_that_could_not_decide_is_inconclusive_when_the_policy_would_block_on_it():
    throttled = make_run(make_check("security.ratelimit.window", Status.INCONCLUSIVE, Severity.HIGH))
    assert evaluate(throttled, Policy(), today=TODAY).exit_code == ExitCode.INCONCLUSIVE
    relaxed = Policy.model_validate({"rules": [{"check": "security.ratelimit.*", "action": "warn"}]})
    assert evaluate(throttled, relaxed, today=TODAY).exit_code == ExitCode.READY
    levels = evaluate(throttled, Policy.model_validate({"levels": [{"name": "bronze", "checks": ["security.*"]}]}),
                      today=TODAY).levels
    assert levels.next.missing == ["security.ratelimit.window inconclusive: not verified"]


def test_an_expired_fingerprint_waiver_is_named_on_the_line_it_no_longer_covers():
    run = bola_run("GET /x")
    fingerprint = run.all_findings()[0].fingerprint
    result = evaluate(run, Policy(waivers=[waiver(-1, fingerprint=fingerprint, id="get-x")]), today=TODAY)
    (_kind, line), = result.blocking
    assert line.endswith(f"waiver 'get-x' (finding {fingerprint}, owner alice) expired on 2026-02-28")
