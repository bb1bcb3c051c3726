"""CORS: an arbitrary or ``null`` Origin must not be reflected, never with credentials or a wildcard, and
the target's own allowlist must be matched exactly (look-alikes of an allowed origin are refused).

The allowlist comes from the target's configuration: ``Target.extra["cors_allowed_origins"]`` (a list of
``scheme://host[:port]``), and from each claim that states one (``params.cors.allowed_origins``, checked in
a run of its own, claim-only). Without either the allowlist check is ``not_applicable``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, for_claims, rule
from harness.security.client import curl, sample
from harness.security.context import ALLOWED_ORIGINS_KEY, ProbeContext

REFLECT = rule("security.cors.origin_reflection", "CORS does not trust arbitrary origins", Severity.HIGH,
               "API8:2023", "CWE-942", "Answer Access-Control-Allow-Origin only for an explicit allowlist of origins; "
               "never echo the request's Origin.")
NULL_ORIGIN = rule("security.cors.null_origin", "CORS does not trust the null origin", Severity.HIGH, "API8:2023",
                   "CWE-942", "Never allow Origin: null (sandboxed iframes and file:// pages send it).")
WILDCARD = rule("security.cors.wildcard_credentials", "No wildcard origin together with credentials",
                Severity.MEDIUM, "API8:2023", "CWE-942",
                "Access-Control-Allow-Origin: * must not be combined with Access-Control-Allow-Credentials: true.")
ALLOWLIST = rule("security.cors.allowlist", "CORS allows exactly the configured origins, not look-alikes",
                 Severity.HIGH, "API8:2023", ("CWE-942", "CWE-346"),
                 "Compare the Origin with the allowlist as whole strings (scheme, host and port); never with "
                 "prefix/suffix matches or unanchored regular expressions.")

EVIL_ORIGIN = "https://evil.harness-probe.invalid"

RULES = (REFLECT, NULL_ORIGIN, WILDCARD, ALLOWLIST)


def look_alikes(origin: str) -> dict[str, str]:
    """Origins an unanchored or prefix/suffix match would confuse with ``origin`` (never sent anywhere but Origin)."""
    parts = urlsplit(origin)
    host, port = parts.hostname or "", parts.port
    other_scheme = "http" if parts.scheme == "https" else "https"
    at = f":{port}" if port else ""
    other_port = (port or (443 if parts.scheme == "https" else 80)) + 1
    return {
        "allowed host + suffix": f"{parts.scheme}://{host}.evil.harness-probe.invalid{at}",
        "prefix + allowed host": f"{parts.scheme}://evil{host}{at}",
        "other scheme": f"{other_scheme}://{host}{at}",
        "other port": f"{parts.scheme}://{host}:{other_port}",
    }


def run(ctx: ProbeContext) -> list[Outcome]:
    ops = [op for op in ctx.bearer_operations() if op.method == "GET" and not op.path_params]
    identity = next(iter(ctx.identities.users() or ctx.identities.all), None)
    path = ops[0].path if ops else "/"
    auth = ctx.identities.bearer(identity) if identity and ops else {}
    outcomes = []
    seen_wildcard_credentials = []
    for rule_, origin in ((REFLECT, EVIL_ORIGIN), (NULL_ORIGIN, "null")):
        both = _ask(ctx, path, auth, origin)
        seen_wildcard_credentials += [r for r in both if _allow_origin(r) == "*" and _credentials(r)]
        reflected = [r for r in both if _allow_origin(r) == origin]
        evidence = _evidence(origin, both)
        if reflected:
            with_credentials = any(_credentials(r) for r in reflected)
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
    runs = ctx.cors_allowlists()
    if not runs:
        outcomes.append(allowlist(ctx, path, auth, [], every_origin_reflected=outcomes[0].failed))
    for param_run in runs:
        outcomes += for_claims([allowlist(ctx, path, auth, list(param_run.params.allowed_origins),
                                          every_origin_reflected=outcomes[0].failed)],
                               param_run.claims, param_run.claim_only)
    return outcomes


def allowlist(ctx: ProbeContext, path: str, auth: dict[str, str], allowed: list[str], *,
              every_origin_reflected: bool) -> Outcome:
    """Each configured origin is allowed; none of its look-alikes is (2 requests per origin tried)."""
    location = f"GET {path}"
    if not allowed:
        return ALLOWLIST.not_applicable(f"no CORS allowlist configured for the target (Target.extra"
                                        f"[{ALLOWED_ORIGINS_KEY!r}]) and none claimed (params.cors.allowed_origins)")
    if every_origin_reflected:
        return ALLOWLIST.skipped("every origin is reflected (security.cors.origin_reflection): look-alikes "
                                 "prove nothing more", location=location)
    refused_allowed, accepted_fakes, samples = [], [], []
    measured: dict[str, object] = {}
    for origin in allowed:
        answers = _ask(ctx, path, auth, origin)
        measured[origin] = [_allow_origin(r) for r in answers]
        samples.append(sample(answers[1], f"allowed origin {origin}"))
        if not any(_allow_origin(r) in (origin, "*") for r in answers):
            refused_allowed.append(origin)
        for label, fake in look_alikes(origin).items():
            if fake in allowed:
                continue
            fake_answers = _ask(ctx, path, auth, fake)
            measured[fake] = [_allow_origin(r) for r in fake_answers]
            accepted = [r for r in fake_answers if _allow_origin(r) == fake]
            if accepted:
                accepted_fakes.append((label, fake, accepted[0]))
    evidence = Evidence(measured={"allowed": allowed, "allow_origin_answers": measured},
                        samples=([sample(r, f"{label}: {fake}") for label, fake, r in accepted_fakes] + samples)[:4])
    if accepted_fakes:
        label, fake, response = accepted_fakes[0]
        evidence.curl = curl(response)
        return ALLOWLIST.failed(f"look-alike origin {fake!r} ({label}) is allowed"
                                + (" with credentials" if _credentials(response) else "")
                                + (f" (+{len(accepted_fakes) - 1} more)" if len(accepted_fakes) > 1 else ""),
                                location=location, evidence=evidence,
                                severity=ALLOWLIST.severity if _credentials(response) else Severity.MEDIUM)
    if refused_allowed:
        return ALLOWLIST.failed(f"configured origin(s) {refused_allowed} get no Access-Control-Allow-Origin: the "
                                "allowlist in the configuration is not the one in effect", location=location,
                                evidence=evidence, severity=Severity.LOW)
    return ALLOWLIST.passed(f"{len(allowed)} configured origin(s) allowed, their look-alikes refused",
                            location=location, evidence=evidence)


def _ask(ctx: ProbeContext, path: str, auth: dict[str, str], origin: str) -> tuple[httpx.Response, httpx.Response]:
    """A simple (credentialed) GET and a preflight, both from ``origin``."""
    simple = ctx.client.get(path, headers={**auth, "Origin": origin})
    preflight = ctx.client.request("OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    return simple, preflight


def _evidence(origin: str, both: tuple[httpx.Response, httpx.Response]) -> Evidence:
    return Evidence(measured={"origin": origin, "allow_origin": [_allow_origin(r) for r in both],
                              "allow_credentials": [r.headers.get("access-control-allow-credentials") for r in both]},
                    samples=[sample(both[0], "simple"), sample(both[1], "preflight")])


def _allow_origin(response: httpx.Response) -> str | None:
    return response.headers.get("access-control-allow-origin")


def _credentials(response: httpx.Response) -> bool:
    return response.headers.get("access-control-allow-credentials", "").lower() == "true"


GROUP = ProbeGroup("cors", run, RULES)
