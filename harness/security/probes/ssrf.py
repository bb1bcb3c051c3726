"""SSRF: URL-typed fields are pointed at a loopback canary the harness runs; a callback is the proof.

Only loopback addresses are ever used (``127.0.0.1`` and ``localhost`` forms of the canary's port):
the harness never sends or provokes traffic to any other address, metadata services included.
"""

from __future__ import annotations

import secrets

from harness.model import Evidence, Severity
from harness.security.canary import CanaryServer
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

SSRF = rule("security.ssrf.loopback_callback", "URL fields cannot make the server call internal addresses",
            Severity.HIGH, "API7:2023", "CWE-918", "Resolve the host and refuse loopback, private, link-local and "
            "metadata addresses before fetching (and on every redirect); allowlist callback hosts.")
CALLBACK_WAIT_S = 2.0

RULES = (SSRF,)

def run(ctx: ProbeContext) -> list[Outcome]:
    fields = [(op, p) for op in ctx.spec.operations for p in op.parameters
              if p.location == "body" and p.is_url and op.method in {"POST", "PUT", "PATCH"}
              and (ctx.spec.uses_bearer(op) or not op.security_schemes)]  # cookie-only ops: see csrf
    if not fields:
        return [SSRF.not_applicable("no URL-typed body field (format uri or *_url) the harness can call")]
    user = next(iter(ctx.identities.users() or ctx.identities.all), None)
    outcomes = []
    with CanaryServer() as canary:
        sent = []
        for op, param in fields:  # send everything first, then wait once for callbacks
            token = secrets.token_hex(6)
            responses = []
            for host in ("127.0.0.1", "localhost"):
                body = {**(ctx.spec.example_body(op) or {}), param.name: canary.url(f"/ssrf-{token}-{host}", host)}
                responses.append(ctx.call(op, user if ctx.spec.uses_bearer(op) else None, json=body))
            sent.append((op, param, token, responses))
        canary.wait_for("/ssrf-", CALLBACK_WAIT_S)
        for op, param, token, responses in sent:
            hits = canary.wait_for(f"/ssrf-{token}", 0.2)
            evidence = Evidence(measured={"canary_port": canary.port, "callbacks": len(hits),
                                          "statuses": [r.status_code for r in responses],
                                          "callback_paths": [h.path for h in hits]},
                                samples=[sample(r) for r in responses])
            if hits:
                evidence.curl = curl(responses[0])
                outcomes.append(SSRF.failed(f"the server fetched the loopback canary ({hits[0].method} {hits[0].path})",
                                            location=op.key, parameter=f"body:{param.name}", evidence=evidence))
            else:
                outcomes.append(SSRF.passed(f"no callback within {CALLBACK_WAIT_S} s (statuses "
                                            f"{[r.status_code for r in responses]})", location=op.key,
                                            parameter=f"body:{param.name}", evidence=evidence))
    return outcomes


GROUP = ProbeGroup("ssrf", run, RULES)
