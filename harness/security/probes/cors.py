"""CORS: an arbitrary or ``null`` Origin must not be reflected, never with credentials or a wildcard."""

from __future__ import annotations

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

REFLECT = rule("security.cors.origin_reflection", "CORS does not trust arbitrary origins", Severity.HIGH,
               "API8:2023", "CWE-942", "Answer Access-Control-Allow-Origin only for an explicit allowlist of origins; "
               "never echo the request's Origin.")
NULL_ORIGIN = rule("security.cors.null_origin", "CORS does not trust the null origin", Severity.HIGH, "API8:2023",
                   "CWE-942", "Never allow Origin: null (sandboxed iframes and file:// pages send it).")
WILDCARD = rule("security.cors.wildcard_credentials", "No wildcard origin together with credentials",
                Severity.MEDIUM, "API8:2023", "CWE-942",
                "Access-Control-Allow-Origin: * must not be combined with Access-Control-Allow-Credentials: true.")

EVIL_ORIGIN = "https://evil.harness-probe.invalid"


def run(ctx: ProbeContext) -> list[Outcome]:
    ops = [op for op in ctx.bearer_operations() if op.method == "GET" and not op.path_params]
    identity = next(iter(ctx.identities.users() or ctx.identities.all), None)
    path = ops[0].path if ops else "/"
    auth = ctx.identities.bearer(identity) if identity and ops else {}
    outcomes = []
    seen_wildcard_credentials = []
    for rule_, origin in ((REFLECT, EVIL_ORIGIN), (NULL_ORIGIN, "null")):
        simple = ctx.client.get(path, headers={**auth, "Origin": origin})
        preflight = ctx.client.request("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        reflected = [r for r in (simple, preflight) if r.headers.get("access-control-allow-origin") == origin]
        for r in (simple, preflight):
            if r.headers.get("access-control-allow-origin") == "*" and \
                    r.headers.get("access-control-allow-credentials", "").lower() == "true":
                seen_wildcard_credentials.append(r)
        both = (simple, preflight)
        evidence = Evidence(measured={"origin": origin,
                                      "allow_origin": [r.headers.get("access-control-allow-origin") for r in both],
                                      "allow_credentials": [r.headers.get("access-control-allow-credentials")
                                                            for r in both]},
                            samples=[sample(simple, "simple"), sample(preflight, "preflight")])
        if reflected:
            with_credentials = any(r.headers.get("access-control-allow-credentials", "").lower() == "true"
                                   for r in reflected)
            evidence.curl = curl(reflected[0])
            outcomes.append(rule_.failed(
                f"Origin {origin!r} is allowed{' with credentials' if with_credentials else ''}",
                location=f"GET {path}", evidence=evidence,
                severity=rule_.severity if with_credentials else Severity.MEDIUM))
        else:
            outcomes.append(rule_.passed(f"Origin {origin!r} not allowed", location=f"GET {path}", evidence=evidence))
    if seen_wildcard_credentials:
        outcomes.append(WILDCARD.failed("Access-Control-Allow-Origin: * with credentials", location=f"GET {path}",
                                        evidence=Evidence(samples=[sample(seen_wildcard_credentials[0])],
                                                          curl=curl(seen_wildcard_credentials[0]))))
    else:
        outcomes.append(WILDCARD.passed("no wildcard origin with credentials", location=f"GET {path}"))
    return outcomes
