"""Pure parts of the security library: header/cookie judges, rolling windows, rules, spec lines."""

import json

import httpx
import pytest

from harness.errors import UsageError
from harness.model import Severity, Status
from harness.openapi_file import operation_lines
from harness.security.probes.cookies import cookie_problems
from harness.security.probes.cors import look_alikes
from harness.security.probes.headers import (
    HSTS,
    judge_cache,
    judge_csp,
    judge_frames,
    judge_hsts,
    judge_leakage,
    judge_permissions,
    judge_referrer,
)
from harness.security.probes.ratelimit import headers_problem, max_in_rolling_window, remaining_budget
from harness.security.record import fingerprint
from harness.security.rules import Action, action_for, apply_rules, load_rules


def h(**headers: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()})


def test_csp_is_judged_by_its_directives_not_its_presence():
    assert judge_csp(h(content_security_policy="default-src 'none'; frame-ancestors 'none'")) is None
    weak = judge_csp(h(content_security_policy="default-src * 'unsafe-inline'; script-src 'self' 'unsafe-eval'"))
    assert "default-src allows *" in weak and "'unsafe-inline'" in weak and "script-src allows 'unsafe-eval'" in weak
    assert judge_csp(h(content_security_policy="script-src 'self'")) == "no default-src"
    assert judge_csp(h()) == "no Content-Security-Policy header"


def test_hsts_needs_a_year_and_subdomains():
    assert judge_hsts(h(strict_transport_security="max-age=31536000; includeSubDomains")) is None
    assert "max-age 86400 < 31536000" in judge_hsts(h(strict_transport_security="max-age=86400; includeSubDomains"))
    assert judge_hsts(h(strict_transport_security="max-age=63072000")) == "no includeSubDomains"


def test_framing_accepts_either_header_or_frame_ancestors():
    assert judge_frames(h(x_frame_options="DENY")) is None
    assert judge_frames(h(content_security_policy="default-src 'none'; frame-ancestors 'none'")) is None
    assert judge_frames(h(x_frame_options="ALLOW-FROM https://x")) is not None


def test_referrer_policy_uses_the_last_value_and_leakage_spots_versions():
    assert judge_referrer(h(referrer_policy="unsafe-url, no-referrer")) is None
    assert judge_referrer(h(referrer_policy="unsafe-url")) is not None
    assert judge_leakage(h(server="nginx/1.25.3", x_powered_by="Express")) == "x-powered-by: Express; Server: nginx/1.25.3"
    assert judge_leakage(h(server="refsys")) is None


def test_permissions_policy_is_judged_by_its_allowlists_and_cache_control_needs_no_store():
    assert judge_permissions(h(permissions_policy="camera=(), geolocation=(self)")) is None
    assert judge_permissions(h(permissions_policy="camera=*, fullscreen=*, microphone=*")) == \
        "Permissions-Policy allows camera=*, microphone=*"  # fullscreen is not a powerful feature
    assert judge_permissions(h()) == "no Permissions-Policy header"
    assert judge_cache(h(cache_control="no-store, max-age=0")) is None
    assert judge_cache(h(cache_control="private, max-age=60")) is not None


def test_cookie_flags():
    good = "__Host-session=abc; HttpOnly; Path=/; SameSite=strict; Secure"
    assert cookie_problems(good) == []
    assert cookie_problems("__Host-csrf=t; Path=/; SameSite=strict; Secure") == []  # readable by design
    problems = cookie_problems("sid=abc; Path=/; SameSite=None")
    assert problems == ["sid: no Secure", "sid: no HttpOnly", "sid: SameSite=None", "sid: no __Host- prefix"]
    assert cookie_problems("__Host-a=b; Secure; HttpOnly; SameSite=Lax; Path=/; Domain=example.com") == [
        "__Host-a: __Host- cookie must have Path=/ and no Domain"]
    # shared with subdomains (Domain set): __Host- cannot apply, __Secure- is what is asked for
    assert cookie_problems("__Secure-sso=t; Secure; HttpOnly; SameSite=Lax; Path=/; Domain=example.com") == []
    assert cookie_problems("sso=t; Secure; HttpOnly; SameSite=Lax; Path=/; Domain=example.com") == [
        "sso: no __Secure- prefix (Domain is set, so __Host- cannot apply)"]


def test_cors_look_alikes_differ_from_the_allowed_origin_in_one_way_each():
    assert look_alikes("https://app.acme.test") == {
        "allowed host + suffix": "https://app.acme.test.evil.harness-probe.invalid",
        "prefix + allowed host": "https://evilapp.acme.test",
        "other scheme": "http://app.acme.test",
        "other port": "https://app.acme.test:444"}
    assert look_alikes("http://127.0.0.1:8080")["other port"] == "http://127.0.0.1:8081"


def test_remaining_budget_in_every_common_spelling():
    assert remaining_budget(h(ratelimit="limit=100, remaining=7, reset=30")) == 7  # draft 7/8
    assert remaining_budget(h(ratelimit='"default";r=3;t=30')) == 3  # structured, draft 9+
    assert remaining_budget(h(ratelimit_remaining="5")) == 5
    assert remaining_budget(h(x_ratelimit_remaining="0")) == 0
    assert remaining_budget(h(ratelimit_policy="100;w=60")) is None


def test_rate_limit_headers_lie_when_they_advertise_budget_that_is_not_there():
    def answers(*pairs: tuple[int, int | None]) -> list[tuple[float, httpx.Response]]:
        headers = [{} if r is None else {"RateLimit": f"limit=3, remaining={r}, reset=1"} for _, r in pairs]
        return [(i * 0.01, httpx.Response(s, headers=hd)) for i, ((s, _), hd) in enumerate(zip(pairs, headers, strict=True))]

    assert headers_problem(answers((200, 2), (200, 1), (200, 0), (429, 0)), allowed=3, window_s=1) is None
    assert headers_problem(answers((200, 3), (200, 3), (200, 3), (429, 3)), allowed=3, window_s=1) == (
        "remaining=3, and the very next request got 429", 2)
    assert headers_problem(answers((200, 1), (429, 1)), allowed=3, window_s=1) == ("a 429 advertises remaining=1", 1)
    over = answers((200, 2), (200, 2), (200, 2), (200, 2), (200, 2))  # never 429, still "2 left" after 4 accepted
    assert headers_problem(over, allowed=3, window_s=1) == ("remaining=2 after 4 requests were accepted within 1 s", 3)
    # remaining=0 while still admitting (refsys no_rate_limit): the headers are honest, enforcement is not
    assert headers_problem(answers((200, 1), (200, 0), (200, 0), (200, 0), (200, 0)), allowed=3, window_s=1) is None


def test_rolling_window_counts_a_fixed_window_boundary_burst():
    fixed = [0.9 + i * 0.001 for i in range(10)] + [1.0 + i * 0.001 for i in range(10)]  # two windows, 0.1 s apart
    assert max_in_rolling_window(fixed, 1.0) == 20
    sliding = [i * 0.1 for i in range(30)]  # 10 per second, evenly
    assert max_in_rolling_window(sliding, 1.0) == 10
    assert max_in_rolling_window([], 1.0) == 0


def test_rules_from_policy_file(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("severity_threshold: high\nsecurity:\n  rules:\n    security.headers.*: warn\n"
                      "    security.headers.hsts: ignore\n")
    rules = load_rules(policy)
    assert action_for("security.headers.hsts", rules) == Action.IGNORE  # most specific pattern wins
    assert action_for("security.headers.csp", rules) == Action.WARN
    assert action_for("security.authz.bola", rules) == Action.FAIL
    assert load_rules(None) == {}
    policy.write_text("security: {rules: {security.headers.hsts: maybe}}")
    with pytest.raises(UsageError, match=r"security\.headers\.hsts.*allowed: fail, warn, ignore"):
        load_rules(policy)


def test_warn_keeps_the_finding_at_low_and_ignore_waives():
    warned, is_finding = apply_rules(HSTS.failed("no header"), {"security.headers.hsts": Action.WARN})
    assert (warned.status, warned.severity, is_finding) == (Status.PASS, Severity.LOW, True)
    assert warned.message == "WARN: no header"
    ignored, is_finding = apply_rules(HSTS.failed("no header"), {"security.headers.*": Action.IGNORE})
    assert (ignored.status, is_finding) == (Status.WAIVED, False)
    passed, is_finding = apply_rules(HSTS.passed("fine"), {"security.headers.*": Action.WARN})
    assert (passed.status, is_finding) == (Status.PASS, False)


def test_fingerprints_depend_on_probe_operation_and_parameter_only():
    a = HSTS.failed("one message", location="GET /x", parameter="query:q")
    b = HSTS.failed("another message", location="GET /x", parameter="query:q")
    c = HSTS.failed("one message", location="GET /x", parameter="query:other")
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_operation_lines_point_at_the_method_key():
    document = {"openapi": "3.1.0", "paths": {"/a": {"get": {}, "post": {}}, "/b/{id}": {"delete": {}}},
                "components": {"schemas": {"get": {}}}}
    text = json.dumps(document, indent=2)
    lines = operation_lines(text)
    numbered = text.splitlines()
    assert set(lines) == {"GET /a", "POST /a", "DELETE /b/{id}"}
    assert numbered[lines["GET /a"] - 1].strip().startswith('"get"')
    assert numbered[lines["DELETE /b/{id}"] - 1].strip().startswith('"delete"')
