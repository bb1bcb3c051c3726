"""Each probe against a small API in a good and a flawed variant: silent on the good one, precise on the bad one."""

from collections.abc import Callable, Iterator

import pytest

from harness.security.catalog import Outcome
from harness.security.context import Budget, ProbeContext
from harness.security.probes import authz, cookies, cors, csrf, headers, injection, jwt, ratelimit, resources, ssrf
from tests.security.notes_app import make_app, serve, target_for

Group = Callable[[ProbeContext], list[Outcome]]


@pytest.fixture
def probe(tmp_path) -> Iterator:
    """``probe(*flaws, sessions=..., rate_limit=...)`` -> a ProbeContext on a notes app (stopped after the test)."""
    opened = []

    def open_app(*flaws: str, **options) -> ProbeContext:  # type: ignore[no-untyped-def]
        app = make_app(set(flaws), **options)
        server = serve(app)
        base_url = server.__enter__()
        opened.append(server)
        ctx = ProbeContext.open(target_for(base_url, app.state.rate_limit),
                                run_dir=tmp_path / "-".join(flaws or ("good",)))
        opened.append(ctx)
        return ctx

    yield open_app
    for thing in reversed(opened):
        thing.close() if isinstance(thing, ProbeContext) else thing.__exit__(None, None, None)


def failed(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.id: o for o in outcomes if o.failed}


def bruteforce(ctx: ProbeContext) -> list[Outcome]:
    return jwt.bruteforce(ctx)


def ratelimit_without_window(ctx: ProbeContext) -> list[Outcome]:
    """The rate-limit probes minus the ~8 s fixed-window shaping (shown on the good app and the refsys)."""
    ctx.budget = Budget(max_wait_s=1.0)
    return ratelimit.run(ctx)


GROUPS: list[Group] = [headers.run, cookies.run, cors.run, csrf.run, jwt.run, authz.run, injection.run,
                       resources.run, ssrf.run, bruteforce]  # brute force last: it locks the last identity out


def test_good_app_has_no_findings(probe):
    ctx = probe(sessions=True)
    outcomes = [o for group in GROUPS for o in group(ctx)]
    assert failed(outcomes) == {}
    passed = {o.id for o in outcomes if o.status.value == "pass"}
    assert passed >= {
        "security.headers.csp", "security.headers.nosniff", "security.headers.permissions_policy",
        "security.headers.cross_origin_isolation", "security.headers.cache_control", "security.cookies.flags",
        "security.cors.origin_reflection", "security.cors.wildcard_credentials", "security.cors.allowlist",
        "security.csrf.missing_token", "security.csrf.mismatch", "security.csrf.forged_pair",
        "security.csrf.cross_session", "security.csrf.state_changing_get",
        "security.auth.no_token", "security.auth.tampered_signature", "security.auth.alg_none",
        "security.auth.modified_claims", "security.auth.refresh_rotation", "security.auth.refresh_reuse",
        "security.auth.access_as_refresh", "security.auth.logout_revokes", "security.auth.bruteforce",
        "security.authz.bola", "security.authz.bfla", "security.injection.sqli", "security.injection.nosql",
        "security.injection.path_traversal", "security.injection.ssti", "security.injection.crlf",
        "security.resources.page_size", "security.resources.body_size", "security.resources.deep_json",
        "security.ssrf.loopback_callback"}
    assert (ctx.spec_path.parent / "openapi.json").is_file() and ctx.spec_lines["GET /notes/{note_id}"] > 1


def test_good_rate_limited_app_keeps_its_claim(probe):
    outcomes = ratelimit.run(probe(rate_limit=(10, 2.0)))  # includes the fixed-window shaping: ~8 s
    assert failed(outcomes) == {}
    assert {o.id for o in outcomes if o.status.value == "pass"} == {r.id for r in ratelimit.RULES}


HEADER_IDS = {"security.headers.csp", "security.headers.hsts", "security.headers.nosniff",
              "security.headers.frame_options", "security.headers.referrer_policy",
              "security.headers.permissions_policy", "security.headers.cross_origin_isolation",
              "security.headers.cache_control"}

# flaw -> the group to run, the check that must fail, a fragment of its message, and the other checks the
# same flaw fails by its nature (any severity); every other check of the group must not fail.
CASES: list[tuple[str, Group, str, str, set[str]]] = [
    ("headers", headers.run, "security.headers.csp", "no Content-Security-Policy", HEADER_IDS),
    ("no_nosniff", headers.run, "security.headers.nosniff", "X-Content-Type-Options is 'missing'", set()),
    ("permissive_permissions_policy", headers.run, "security.headers.permissions_policy", "camera=*", set()),
    ("no_cross_origin_isolation", headers.run, "security.headers.cross_origin_isolation",
     "cross-origin-opener-policy is 'missing'", set()),
    ("cacheable_responses", headers.run, "security.headers.cache_control", "'public, max-age=300'", set()),
    ("cookie_no_secure", cookies.run, "security.cookies.flags", "__Host-session: no Secure", set()),
    ("cookie_no_httponly", cookies.run, "security.cookies.flags", "__Host-session: no HttpOnly", set()),
    ("cookie_samesite_none", cookies.run, "security.cookies.flags", "__Host-session: SameSite=none", set()),
    ("cookie_no_host_prefix", cookies.run, "security.cookies.flags", "session: no __Host- prefix", set()),
    ("cors", cors.run, "security.cors.origin_reflection", "with credentials", {"security.cors.null_origin"}),
    ("cors_wildcard_credentials", cors.run, "security.cors.wildcard_credentials", "* with credentials", set()),
    ("cors_lookalike", cors.run, "security.cors.allowlist", "'https://app.notes.test.evil", set()),
    ("csrf_optional", csrf.run, "security.csrf.missing_token", "no CSRF header: POST /session/notes", set()),
    ("csrf_header_unchecked", csrf.run, "security.csrf.mismatch", "header differs from cookie", set()),
    ("state_changing_get", csrf.run, "security.csrf.state_changing_get", "GET /session/logout (session", set()),
    ("alg_none", jwt.run, "security.auth.alg_none", "alg=none", set()),
    ("guest_fallback", jwt.run, "security.auth.no_token", "without a token", set()),
    ("unverified_signature", jwt.run, "security.auth.tampered_signature", "tampered signature",
     {"security.auth.alg_none", "security.auth.modified_claims"}),
    ("verified_signature_cache", jwt.run, "security.auth.modified_claims", "role=admin", set()),
    ("refresh_no_rotation", jwt.run, "security.auth.refresh_rotation", "did not rotate", set()),
    ("refresh_any_token", jwt.run, "security.auth.access_as_refresh", "access token was accepted", set()),
    ("logout_keeps_tokens", jwt.run, "security.auth.logout_revokes", "access token and refresh token", set()),
    ("no_login_limit", bruteforce, "security.auth.bruteforce", "wrong passwords without 429/423", set()),
    ("bola", authz.run, "security.authz.bola", "acme_user's object", set()),
    ("bfla", authz.run, "security.authz.bfla", "on GET /admin/users", set()),
    ("sqli", injection.run, "security.injection.sqli", "single quote", set()),
    ("xss", injection.run, "security.injection.xss", "reflected unescaped", set()),
    ("nosql", injection.run, "security.injection.nosql", "where a non-matching value matched 0", set()),
    ("path_traversal", injection.run, "security.injection.path_traversal", "/etc/passwd", set()),
    ("ssti", injection.run, "security.injection.ssti", "was evaluated", set()),
    ("crlf", injection.run, "security.injection.crlf", "created a response header", set()),
    ("ssrf", ssrf.run, "security.ssrf.loopback_callback", "fetched the loopback canary", set()),
    ("unbounded_page", resources.run, "security.resources.page_size", "was honoured", set()),
    ("no_body_limit", resources.run, "security.resources.body_size", "KiB body got 201", set()),
    ("deep_json_500", resources.run, "security.resources.deep_json", "JSON got 500", set()),
    ("ratelimit_race", ratelimit_without_window, "security.ratelimit.burst", "concurrent requests accepted", set()),
    ("ratelimit_xff", ratelimit_without_window, "security.ratelimit.bypass", "with: X-Forwarded-For", set()),
    ("ratelimit_path_variants", ratelimit_without_window, "security.ratelimit.bypass",
     "with: trailing slash, upper-case path", set()),
    ("ratelimit_head", ratelimit_without_window, "security.ratelimit.bypass", "with: HEAD", set()),
    ("ratelimit_no_retry_after", ratelimit_without_window, "security.ratelimit.retry_after", "without Retry-After",
     set()),
    ("ratelimit_headers_lie", ratelimit_without_window, "security.ratelimit.headers", "remaining=10", set()),
]


@pytest.mark.parametrize(("flaw", "group", "expected", "says", "implied"), CASES, ids=[c[0] for c in CASES])
def test_each_flaw_is_found_with_evidence(probe, flaw, group, expected, says, implied):
    found = failed(group(probe(flaw)))
    assert expected in found, f"{flaw} not detected; failures: {list(found)}"
    outcome = found[expected]
    assert says in outcome.message, outcome.message
    assert outcome.evidence.samples, "a finding must carry request/response samples"
    assert outcome.evidence.curl and "curl -i -X" in outcome.evidence.curl
    if "authorization" in outcome.evidence.curl.lower():
        assert "Bearer <redacted>" in outcome.evidence.curl, "a bearer token leaked into the evidence"
    assert set(found) - {expected} == implied - {expected}, f"{flaw}: other checks failed too"


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
    assert injection._time_based(ctx, injection.Sender(ctx), slot) is not None  # pg_sleep ~1.5 s: the differential
    heavy = injection._heavy_query(injection.Sender(ctx), slot)  # SQLite has no sleep: a recursive count instead
    assert heavy is not None and min(heavy.evidence.measured["heavy_s"]) > max(heavy.evidence.measured["light_s"])
    clean = probe()
    injection.seed_objects(clean)
    clean_slot = next(s for s in injection.slots(clean) if s.param.name == "q")
    assert injection._time_based(clean, injection.Sender(clean), clean_slot) is None


def test_a_signature_cache_passes_the_tampered_signature_check(probe):
    outcomes = {o.id: o for o in jwt.run(probe("verified_signature_cache"))}
    assert outcomes["security.auth.tampered_signature"].status.value == "pass"  # only the payload swap gets in
    assert "other sub" in outcomes["security.auth.modified_claims"].message


def test_refresh_reuse_is_not_judged_without_rotation(probe):
    outcomes = {o.id: o for o in jwt.run(probe("refresh_no_rotation"))}
    assert outcomes["security.auth.refresh_reuse"].status.value == "not_applicable"


def test_csrf_is_not_applicable_to_a_bearer_only_api(probe):
    outcomes = csrf.run(probe())
    assert {o.status.value for o in outcomes} == {"not_applicable"}
    assert "bearer-only" in outcomes[0].message
