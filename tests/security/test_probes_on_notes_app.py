"""Each probe against a small API in a good and a flawed variant: silent on the good one, precise on the bad one."""

from collections.abc import Iterator

import pytest

from harness.model import Severity
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.probes import authz, cors, csrf, headers, injection, jwt, ssrf
from tests.security.notes_app import make_app, serve, target_for


@pytest.fixture
def probe(tmp_path) -> Iterator:
    """``probe(flaws)`` -> a ProbeContext on a notes app with those flaws (stopped after the test)."""
    opened = []

    def open_app(*flaws: str) -> ProbeContext:
        server = serve(make_app(set(flaws)))
        base_url = server.__enter__()
        opened.append(server)
        ctx = ProbeContext.open(target_for(base_url), run_dir=tmp_path / "-".join(flaws or ("good",)))
        opened.append(ctx)
        return ctx

    yield open_app
    for thing in reversed(opened):
        thing.close() if isinstance(thing, ProbeContext) else thing.__exit__(None, None, None)


def failed(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.id: o for o in outcomes if o.failed}


GROUPS = [headers.run, cors.run, jwt.run, authz.run, injection.run, ssrf.run]


def test_good_app_has_no_findings(probe):
    ctx = probe()
    outcomes = [o for group in GROUPS for o in group(ctx)]
    assert failed(outcomes) == {}
    passed = {o.id for o in outcomes if o.status.value == "pass"}
    assert passed >= {"security.headers.csp", "security.authz.bola", "security.authz.bfla", "security.injection.sqli",
                      "security.auth.no_token", "security.auth.alg_none", "security.ssrf.loopback_callback"}
    assert (ctx.spec_path.parent / "openapi.json").is_file() and ctx.spec_lines["GET /notes/{note_id}"] > 1


@pytest.mark.parametrize(("flaw", "group", "expected"), [
    ("headers", headers.run, "security.headers.csp"),
    ("cors", cors.run, "security.cors.origin_reflection"),
    ("alg_none", jwt.run, "security.auth.alg_none"),
    ("bola", authz.run, "security.authz.bola"),
    ("bfla", authz.run, "security.authz.bfla"),
    ("sqli", injection.run, "security.injection.sqli"),
    ("xss", injection.run, "security.injection.xss"),
    ("ssrf", ssrf.run, "security.ssrf.loopback_callback"),
])
def test_each_flaw_is_found_with_evidence(probe, flaw, group, expected):
    found = failed(group(probe(flaw)))
    assert expected in found, f"{flaw} not detected; failures: {list(found)}"
    outcome = found[expected]
    assert outcome.evidence.samples, "a finding must carry request/response samples"
    assert outcome.evidence.curl and outcome.evidence.curl.startswith("curl -i -X")
    if "authorization" in outcome.evidence.curl.lower():
        assert "Bearer <redacted>" in outcome.evidence.curl, "a bearer token leaked into the evidence"
    others = {i for i, o in found.items() if i != expected and o.severity >= Severity.HIGH}
    assert not others - {"security.cors.null_origin"}, f"collateral high findings: {others}"


def test_bola_evidence_names_attacker_and_operation(probe):
    found = failed(authz.run(probe("bola")))["security.authz.bola"]
    assert found.location in {"GET /notes/{note_id}", "DELETE /notes/{note_id}", "GET /notes"}
    assert found.evidence.measured["owner"] == "acme_user"
    assert "globex_user" in found.evidence.measured["accepted_for"]


def test_sqli_names_the_parameter(probe):
    found = failed(injection.run(probe("sqli")))["security.injection.sqli"]
    assert (found.location, found.parameter) == ("GET /notes", "query:q")


def test_time_based_sqli_on_a_blind_injection(probe):
    ctx = probe("sqli_blind")
    injection.seed_objects(ctx)
    slot = next(s for s in injection.slots(ctx) if s.param.name == "q")
    sender = injection.Sender(ctx)
    assert injection._time_based(ctx, sender, slot) is not None  # sleeps ~1.5 s: the differential
    clean = probe()
    injection.seed_objects(clean)
    clean_slot = next(s for s in injection.slots(clean) if s.param.name == "q")
    assert injection._time_based(clean, injection.Sender(clean), clean_slot) is None


def test_csrf_is_not_applicable_to_a_bearer_only_api(probe):
    outcomes = csrf.run(probe())
    assert {o.status.value for o in outcomes} == {"not_applicable"}
    assert "bearer-only" in outcomes[0].message
