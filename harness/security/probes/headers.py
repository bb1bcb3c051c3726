"""Response headers compared by *value* with the OWASP Secure Headers Project recommendations.

Checked on several kinds of response (authenticated 200, 401, 404, and 429 when one is seen),
because frameworks often add headers only on the happy path.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, Rule, for_claims, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

API8 = "API8:2023"
ONE_YEAR_S = 31_536_000

CSP = rule("security.headers.csp", "Content-Security-Policy is strict", Severity.MEDIUM, API8, ("CWE-693", "CWE-1021"),
           "Send a CSP without 'unsafe-inline', 'unsafe-eval' or wildcard sources, with default-src (an API: "
           "default-src 'none'; frame-ancestors 'none').")
HSTS = rule("security.headers.hsts", "Strict-Transport-Security max-age >= 1 year with includeSubDomains",
            Severity.MEDIUM, API8, "CWE-319", "Send Strict-Transport-Security: max-age=31536000; includeSubDomains.")
NOSNIFF = rule("security.headers.nosniff", "X-Content-Type-Options: nosniff", Severity.MEDIUM, API8, "CWE-693",
               "Send X-Content-Type-Options: nosniff on every response.")
FRAMES = rule("security.headers.frame_options", "Framing is forbidden (X-Frame-Options or frame-ancestors)",
              Severity.MEDIUM, API8, "CWE-1021", "Send X-Frame-Options: DENY or CSP frame-ancestors 'none'.")
REFERRER = rule("security.headers.referrer_policy", "Referrer-Policy does not leak URLs", Severity.LOW, API8,
                "CWE-200", "Send Referrer-Policy: no-referrer (or strict-origin-when-cross-origin).")
PERMISSIONS = rule("security.headers.permissions_policy", "Permissions-Policy disables powerful features",
                   Severity.LOW, API8, "CWE-693", "Send Permissions-Policy, e.g. camera=(), geolocation=(), microphone=().")
CROSS_ORIGIN = rule("security.headers.cross_origin_isolation", "COOP/COEP/CORP isolate the origin", Severity.LOW,
                    API8, "CWE-693", "Send Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: "
                    "require-corp, Cross-Origin-Resource-Policy: same-origin.")
CACHE = rule("security.headers.cache_control", "Authenticated responses are not cached (no-store)", Severity.MEDIUM,
             API8, "CWE-525", "Send Cache-Control: no-store on responses to authenticated requests.")
CLAIMED = rule("security.headers.claimed", "Every response carries the header values the claim states", Severity.MEDIUM,
                API8, "CWE-693", "Send the headers with the values your status report states, on every response "
                "(errors and 401/404 too), or correct the report.")
LEAKAGE = rule("security.headers.leakage", "No Server / X-Powered-By version disclosure", Severity.LOW, API8,
               "CWE-200", "Remove X-Powered-By and version details from Server (and X-AspNet-Version etc.).")

HeaderJudge = Callable[[httpx.Headers], str | None]  # returns the problem, or None when fine

RULES = (CSP, HSTS, NOSNIFF, FRAMES, REFERRER, PERMISSIONS, CROSS_ORIGIN, CACHE, CLAIMED, LEAKAGE)

def judge_csp(headers: httpx.Headers) -> str | None:
    value = headers.get("content-security-policy")
    if not value:
        return "no Content-Security-Policy header"
    directives = {d.split()[0].lower(): d.split()[1:] for d in value.split(";") if d.strip()}
    problems = []
    if "default-src" not in directives:
        problems.append("no default-src")
    for name, sources in directives.items():
        lowered = [s.lower() for s in sources]
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            if bad in lowered and not (bad == "data:" and name == "img-src"):
                problems.append(f"{name} allows {bad}")
    return "; ".join(problems) or None


def judge_hsts(headers: httpx.Headers) -> str | None:
    value = headers.get("strict-transport-security")
    if not value:
        return "no Strict-Transport-Security header"
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.I)
    problems = []
    if not match or int(match.group(1)) < ONE_YEAR_S:
        problems.append(f"max-age {match.group(1) if match else 'missing'} < {ONE_YEAR_S}")
    if "includesubdomains" not in value.lower():
        problems.append("no includeSubDomains")
    return "; ".join(problems) or None


def judge_nosniff(headers: httpx.Headers) -> str | None:
    value = headers.get("x-content-type-options", "")
    return None if value.strip().lower() == "nosniff" else f"X-Content-Type-Options is {value or 'missing'!r}"


def judge_frames(headers: httpx.Headers) -> str | None:
    xfo = headers.get("x-frame-options", "").strip().upper()
    csp = headers.get("content-security-policy", "").lower()
    ancestors = re.search(r"frame-ancestors\s+([^;]+)", csp)
    if xfo in {"DENY", "SAMEORIGIN"} or (ancestors and ancestors.group(1).strip() in {"'none'", "'self'"}):
        return None
    return f"X-Frame-Options {xfo or 'missing'} and no frame-ancestors 'none'/'self'"


def judge_referrer(headers: httpx.Headers) -> str | None:
    value = headers.get("referrer-policy", "").lower()
    safe = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
    last = value.split(",")[-1].strip()  # browsers use the last policy they understand
    return None if last in safe else f"Referrer-Policy is {value or 'missing'!r}"


POWERFUL_FEATURES = ("camera", "microphone", "geolocation", "payment", "usb", "display-capture")


def judge_permissions(headers: httpx.Headers) -> str | None:
    """Present, and no powerful feature granted to every origin (``camera=*``)."""
    value = headers.get("permissions-policy")
    if not value:
        return "no Permissions-Policy header"
    allowlists = {name.strip().lower(): allow.strip() for name, _, allow in
                  (item.partition("=") for item in value.split(",")) if name.strip()}
    open_to_all = [name for name in POWERFUL_FEATURES if allowlists.get(name) == "*"]
    return f"Permissions-Policy allows {', '.join(f'{n}=*' for n in open_to_all)}" if open_to_all else None


def judge_cross_origin(headers: httpx.Headers) -> str | None:
    wanted = {"cross-origin-opener-policy": {"same-origin"},
              "cross-origin-embedder-policy": {"require-corp", "credentialless"},
              "cross-origin-resource-policy": {"same-origin", "same-site"}}
    problems = [f"{name} is {headers.get(name) or 'missing'!r}" for name, ok in wanted.items()
                if headers.get(name, "").strip().lower() not in ok]
    return "; ".join(problems) or None


def judge_leakage(headers: httpx.Headers) -> str | None:
    problems = [f"{name}: {headers[name]}" for name in ("x-powered-by", "x-aspnet-version", "x-aspnetmvc-version")
                if name in headers]
    server = headers.get("server", "")
    if re.search(r"\d", server) or server.lower() in {"uvicorn", "gunicorn", "werkzeug", "kestrel", "express"}:
        problems.append(f"Server: {server}")
    return "; ".join(problems) or None


def judge_cache(headers: httpx.Headers) -> str | None:
    value = headers.get("cache-control", "").lower()
    return None if "no-store" in value else f"Cache-Control is {value or 'missing'!r} on an authenticated response"


JUDGES: list[tuple[Rule, HeaderJudge]] = [
    (CSP, judge_csp), (HSTS, judge_hsts), (NOSNIFF, judge_nosniff), (FRAMES, judge_frames),
    (REFERRER, judge_referrer), (PERMISSIONS, judge_permissions), (CROSS_ORIGIN, judge_cross_origin),
    (LEAKAGE, judge_leakage),
]


def sample_responses(ctx: ProbeContext) -> dict[str, httpx.Response]:
    """A few different responses of the target: authenticated 200, 401, 404 (and 429 if seen elsewhere)."""
    responses: dict[str, httpx.Response] = {}
    bearer_gets = [op for op in ctx.bearer_operations() if op.method == "GET" and not op.path_params
                   and not any(p.required for p in op.parameters)]
    identity = next(iter(ctx.identities.users() or ctx.identities.all), None)
    if bearer_gets and identity is not None:
        responses["authenticated"] = ctx.call(bearer_gets[0], identity)
        responses["unauthenticated"] = ctx.call(bearer_gets[0])
    responses["not_found"] = ctx.client.get("/harness-probe-no-such-route")
    public = [op for op in ctx.spec.operations if op.method == "GET" and not op.security_schemes
              and not op.path_params]
    if public:
        responses["public"] = ctx.call(public[0])
    return responses


def run(ctx: ProbeContext, extra: dict[str, httpx.Response] | None = None) -> list[Outcome]:
    responses = {**sample_responses(ctx), **(extra or {})}
    outcomes = [_judge_all(rule_, judge, responses) for rule_, judge in JUDGES]
    if "authenticated" in responses:
        outcomes.append(_judge_all(CACHE, judge_cache, {"authenticated": responses["authenticated"]}))
    else:
        outcomes.append(CACHE.not_applicable("no authenticated GET operation without parameters in the spec"))
    for claim in ctx.claims.with_params("headers"):  # the claim's own values: decide the claim, not the run
        values = claim.params.headers.values  # type: ignore[union-attr]
        outcomes += for_claims([claimed_values(values, responses)], (claim.id,), claim_only=True)
    return outcomes


def _items(value: str) -> list[str]:
    return [" ".join(item.split()).lower() for item in re.split(r"[;,]", value) if item.strip()]


def value_problem(claimed: str | None, actual: str | None) -> str | None:
    """Why ``actual`` is not the claimed value: every claimed directive must be there (``...`` ends a prefix)."""
    if actual is None:
        return "missing"
    if claimed is None:
        return None
    text = claimed.rstrip()
    truncated = text.endswith(("...", "…"))
    items = _items(text.rstrip(".…"))
    if truncated and items:
        last = items.pop()  # cut short mid-directive: compare it as a prefix of some directive
        if not any(item.startswith(last) for item in _items(actual)):
            return f"no directive starting with {last!r}"
    missing = [item for item in items if item not in _items(actual)]
    return f"lacks {', '.join(repr(m) for m in missing)}" if missing else None


def claimed_values(values: dict[str, str | None], responses: dict[str, httpx.Response]) -> Outcome:
    """Each claimed header with its claimed value, on every kind of response sampled."""
    problems: dict[str, str] = {}
    actual: dict[str, str | None] = {}
    for name, claimed in values.items():
        for kind, response in responses.items():
            seen = response.headers.get(name)
            actual.setdefault(name, seen)
            problem = value_problem(claimed, seen)
            if problem and name not in problems:
                problems[name] = f"{name} {problem} on the {kind} response (sent: {seen!r}, claimed: {claimed!r})"
    evidence = Evidence(measured={"claimed": values, "actual": actual, "responses_checked": sorted(responses)},
                        samples=[sample(next(iter(responses.values())))])
    if problems:
        worst = next(iter(problems))
        evidence.curl = curl(next(iter(responses.values())))
        return CLAIMED.failed("; ".join(problems.values()), location=worst, evidence=evidence)
    return CLAIMED.passed(f"{', '.join(values)} as claimed on {len(responses)} responses", evidence=evidence)


def _judge_all(rule_: Rule, judge: HeaderJudge, responses: dict[str, httpx.Response]) -> Outcome:
    problems = {kind: judge(r.headers) for kind, r in responses.items()}
    bad = {kind: problem for kind, problem in problems.items() if problem}
    measured = {"responses_checked": sorted(responses), "problems": bad}
    if not bad:
        first = next(iter(responses.values()))
        return rule_.passed(f"fine on {len(responses)} responses ({', '.join(sorted(responses))})",
                            evidence=Evidence(measured=measured, samples=[sample(first)]))
    worst = next(iter(bad))
    message = f"{bad[worst]} (on {', '.join(sorted(bad))} responses)"
    return rule_.failed(message, evidence=Evidence(measured=measured, samples=[sample(responses[k], k) for k in bad][:3],
                                                   curl=curl(responses[worst])))


GROUP = ProbeGroup("headers", run, RULES)
