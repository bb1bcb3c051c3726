"""Claim shapes the suites can verify: a line's words -> category, the checks that decide it, its numbers.

``recognise(text, section)`` returns the testable shapes found in one line (usually one; a rate-limit
line with two limits gives two), or the reason nothing here can verify it. Order matters: claims about
the team's own tests, documents or code sizes, and things not observable from outside (encryption at
rest, compliance), are settled before any keyword could mistake them for a property of the system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.claims.extract import grammar

HEADER_JUDGES = ["security.headers.csp", "security.headers.hsts", "security.headers.nosniff",
                 "security.headers.frame_options", "security.headers.referrer_policy",
                 "security.headers.permissions_policy", "security.headers.cross_origin_isolation",
                 "security.headers.cache_control"]
RATE_LIMIT = ["security.ratelimit.enforced", "security.ratelimit.burst", "security.ratelimit.window",
              "security.ratelimit.bypass"]
CORS = ["security.cors.origin_reflection", "security.cors.null_origin", "security.cors.wildcard_credentials",
        "security.cors.allowlist"]
JWT = ["security.auth.no_token", "security.auth.tampered_signature", "security.auth.alg_none",
       "security.auth.modified_claims"]
REFRESH = ["security.auth.refresh_rotation", "security.auth.refresh_reuse", "security.auth.access_as_refresh"]
FALLBACK = ["chaos.gpu_loss.hypothesis", "chaos.gpu_loss.back_on_tier"]
SELF_HEALING = ["chaos.gateway_replica_kill.hypothesis", "chaos.gateway_replica_kill.recovery"]


@dataclass
class Shape:
    category: str
    verify: list[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    suffix: str = ""  # tells apart several claims drawn from one line (``general``, ``auth``)

    def merge(self, other: Shape) -> None:
        self.verify += [v for v in other.verify if v not in self.verify]
        for kind, values in other.params.items():
            self.params.setdefault(kind, values)
        self.platforms = sorted(set(self.platforms) | set(other.platforms))


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


# -- what nothing here can verify, and why (first match wins) ------------------------------------------------
UNTESTABLE: list[tuple[str, str, str]] = [
    (r"\btest(?:s|ing|ed)?\b|\bcoverage\b|test scenarios|\bUAT\b|\bk6\b|penetration|chaos engineering|\bbenchmark",
     "process", "a claim about the team's own tests, not a property of the running system"),
    (r"\b(?:docs?|documentation|documented|runbooks?|playbooks?|guides?|readme|architecture\.md|on-call)\b|\.md\b",
     "process", "documentation: not a property of the running system"),
    (r"\b\d[\d,]*\+?\s*(?:lines|files|words|pages|commits?|tasks?)\b|\blines of code\b|\bcommit\b",
     "process", "a count of code, files or tasks: not a property of the running system"),
    (r"\bSOC\s?2\b|\bISO\s?27001\b|\bHIPAA\b|\bPCI\b|\bGDPR\b|\bcomplian(?:ce|t)\b(?!.*\bheaders?\b)|audit(?:s|ed)?\b",
     "compliance", "a compliance or audit statement: needs an auditor's evidence, not a test run"),
    (r"\bAES\b|encrypt|PBKDF2|bcrypt|argon2|\bvault\b|secrets?\b|key derivation",
     "data", "secrets handling and encryption at rest are not observable through the API"),
    (r"\bmTLS\b|\bTLS\b|\bSSL\b|Istio|Let's Encrypt|certificates?",
     "transport", "transport encryption between services or at the edge is not observed by any suite here "
                  "(the harness talks plain HTTP on loopback)"),
    (r"\d+(?:\.\d+)?\s*%\s*(?:uptime|availability)|\buptime\b|\bavailability\b",
     "availability", "an availability figure over time: one run cannot measure it (chaos experiments measure the "
                     "SLO during faults instead)"),
    (r"readiness score|readiness\b.*\d\s*%|production ready\b|\bscore\b|confidence|risk level|improvement|approved|"
     r"enterprise[- ]ready",
     "assessment", "a self-assessed score or status, not a measurable property"),
]
INTERNAL = (r"index(?:es)?\b|foreign key|connection pool|pgbouncer|caching|\bcache\b|\bTTL\b|tracing|jaeger|"
            r"opentelemetry|dedup|batching|alert|pagerduty|slack|jira|servicenow|cost|routing|streaming|\bSSE\b|"
            r"semaphore|concurrency control|backups?|retention|migrations?|logging|audit|integration|webhook|"
            r"\bml\b|model|prediction|anomal|grafana|loki|dashboard|quota|tenant data|export|import|"
            r"prompt|workflow|pattern|analytics|recommendation|algorithm")


SECTIONS: list[tuple[str, str, str]] = [  # the section a line is in settles it first
    (r"\brisk|timeline|effort estimate", "plan", "a risk or estimate entry of a plan, not a claim about the system"),
    (r"secrets|vault", "data", "secrets handling is not observable through the API"),
    (r"integrations\b|ecosystem|coordination|ai/ml|machine learning|file structure|files created|deliverables|commits",
     "internal", "an internal component or integration, not observable through the API: no suite measures it"),
]


def untestable_reason(text: str, section: str) -> tuple[str, str] | None:
    text = re.sub(r"https?://\S+", "URL", text)  # "https://app.notes.test" names no tests
    for pattern, category, reason in SECTIONS:
        if _has(pattern, section):
            return category, reason
    if _has(r"RBAC (?:in|for) (?:Kubernetes|K8s)|RoleBinding|service ?accounts?", text):
        return "kubernetes", ("Kubernetes RBAC objects are not verified by any suite (the API's own role checks are: "
                              "security.authz.*)")
    for pattern, category, reason in UNTESTABLE:
        if _has(pattern, text):
            return category, reason
    return None


def fallback_reason(text: str) -> tuple[str, str]:
    """Why an unrecognised claim-bearing line is untestable (it is still listed, with the line quoted)."""
    if _has(r"kubernetes|k8s|kubectl|helm|namespace|configmap|statefulset|deployment\b|replicas?\b|autoscal|\bHPA\b|"
            r"ingress|service ?account|rolebinding|\brole\b|\bnode", text):
        return "kubernetes", "a Kubernetes object no suite verifies (the Kubernetes checks cover GPU placement, " \
                             "PodDisruptionBudgets, NetworkPolicies, pod security and resource limits)"
    if _has(INTERNAL, text):
        return "internal", "an internal mechanism, not observable through the API: no suite measures it"
    return "general", "no suite verifies this kind of claim"


# -- testable shapes ----------------------------------------------------------------------------------------
def _kubernetes(text: str) -> Shape | None:
    if _has(r"GPU.{0,30}(?:affinity|nodes?|placement|scheduling)|nvidia\.com/gpu|node affinity.{0,30}GPU", text):
        return Shape("kubernetes", ["kubernetes.gpu.placement"], platforms=["kind"])
    if _has(r"PodDisruptionBudget|\bPDBs?\b", text):
        match = grammar.MIN_AVAILABLE.search(text)
        params = {"pdb": {"min_available": int(match.group(1))}} if match else {}
        return Shape("kubernetes", ["kubernetes.pdb.*"], params, ["kind"])
    if _has(r"network ?polic", text):
        return Shape("kubernetes", ["kubernetes.networkpolicy.*"], platforms=["kind"])
    if _has(r"pod security|securityContext|non-root|read-only root|privileged", text):
        return Shape("kubernetes", ["kubernetes.podsecurity.*"], platforms=["kind"])
    if _has(r"resource limits|limits and requests|LimitRange", text):
        return Shape("kubernetes", ["kubernetes.resources.*"], platforms=["kind"])
    return None


def _rate_limits(text: str) -> list[Shape]:
    if not _has(r"rate[- ]?limit|throttl", text):
        return []
    found = grammar.rates(text)
    if not found:
        return [Shape("rate_limit", [])]  # no numbers: settled by the caller as "states no limit"
    shapes = []
    for rate in found:
        suffix = rate.scope if rate.scope and len(found) > 1 else ""
        if rate.scope in ("auth", "login", "authentication"):
            shapes.append(Shape("rate_limit", ["security.auth.bruteforce"],
                                {"login_attempts": {"max_failures": rate.limit, "window_s": rate.window_s}},
                                suffix=suffix))
            continue
        per = rate.per
        verify = RATE_LIMIT + (["security.ratelimit.per_user"] if per == "user" else [])
        params = {"limit": rate.limit, "window_s": rate.window_s, "per": per}
        shapes.append(Shape("rate_limit", verify, {"rate_limit": params}, suffix=suffix))
    return shapes


def _login(text: str) -> Shape | None:
    if not _has(r"brute[- ]?force|lock ?out|failed log(?:in|on)s?|login attempts", text):
        return None
    match = re.search(r"(\d+)\s*(?:failed|wrong|invalid|unsuccessful)?\s*(?:login )?attempts|after\s+(\d+)\s+fail", text,
                      re.IGNORECASE)
    params = {"login_attempts": {"max_failures": int(match.group(1) or match.group(2))}} if match else {}
    return Shape("auth", ["security.auth.bruteforce"], params)


def _latency(text: str) -> list[Shape]:
    bounds = grammar.percentile_bounds(text)
    if not bounds and _has(r"response time|latency", text):
        bound = grammar.BOUND.search(text)
        bounds = [(95.0, grammar.seconds(bound.group("v"), bound.group("unit")) * 1000)] if bound else []
    if not bounds or _has(r"overhead|impact", text):
        return []
    at = grammar.AT_RATE.search(text)
    op = grammar.OPERATION.search(text)
    operation = f"{op.group('method').upper()} {op.group('path')}" if op else None
    label = re.sub(r"[^a-z0-9]+", "_", operation.lower()).strip("_") if operation else "all"
    shapes = []
    for pct, max_ms in bounds:
        metric = "p999" if pct == 99.9 else f"p{pct:g}"
        params: dict[str, Any] = {"percentile": pct if pct == 99.9 else int(pct), "max_ms": max_ms}
        if operation:
            params["operation"] = operation
        if at:
            params["at_rate"] = grammar.number(at.group("v"))
        shapes.append(Shape("performance", [f"load.*.{metric}.{label}"], {"latency": params},
                            suffix=metric if len(bounds) > 1 else ""))
    return shapes


def _load_numbers(text: str) -> Shape | None:
    if _has(r"throughput|req(?:uest)?s?\s*/\s*s|rps", text) and (match := grammar.MIN_RATE.search(text)):
        return Shape("performance", ["load.*.rate.all"], {"throughput": {"min_rps": grammar.number(match.group("v"))}})
    if _has(r"error rate", text) and (match := grammar.PERCENT_BOUND.search(text)):
        return Shape("performance", ["load.*.error_rate.all"],
                     {"error_rate": {"max_ratio": grammar.number(match.group("v")) / 100}})
    return None


def _headers(text: str) -> Shape | None:
    line = grammar.header_line(text)
    if line:
        name, value = line
        return Shape("headers", ["security.headers.claimed"], {"headers": {"values": {name: value}}})
    if not _has(r"security headers|secure headers|helmet|\bHSTS\b|\bCSP\b|content security policy|x-frame", text):
        return None
    names = grammar.named_headers(text)
    if names and not _has(r"owasp", text):
        return Shape("headers", ["security.headers.claimed"], {"headers": {"values": {n: None for n in names}}})
    return Shape("headers", list(HEADER_JUDGES))


def _security(text: str) -> list[Shape]:
    shapes: list[Shape] = []
    if _has(r"\bCORS\b|cross-origin resource|origin (?:validation|whitelist|allowlist)", text):
        origins = grammar.ORIGIN.findall(text)
        shapes.append(Shape("cors", list(CORS), {"cors": {"allowed_origins": origins}} if origins else {}))
    if _has(r"\bCSRF\b|\bXSRF\b|cross-site request forgery|double-submit", text):
        shapes.append(Shape("csrf", ["security.csrf.*"]))
    if _has(r"\bJWT\b|refresh token|token refresh|access token|token (?:expir|lifetime|rotation)|short expir|"
            r"token renewal", text):
        verify: list[str] = []
        token: dict[str, Any] = {}
        if _has(r"refresh|rotation|renewal", text):
            verify += REFRESH
            token["refresh"] = True
        if _has(r"expir|lifetime|ttl", text):
            verify += ["security.auth.expired", "security.auth.expired_replay"]
            ttl = grammar.duration_after(text, r"expir\w*|lifetime|ttl|valid for|lives?")
            if ttl:
                verify.append("security.auth.token_lifetime")
                token["access_ttl_s"] = ttl
        shapes.append(Shape("auth", verify or list(JWT), {"token": token} if token else {}))
    if _has(r"logout|revocation|revoke", text):
        shapes.append(Shape("auth", ["security.auth.logout_revokes"]))
    if _has(r"\bAPI key (?:validation|authentication|auth)|authentication (?:required|middleware)|"
            r"\bunauthenticated\b|auth bypass", text):
        shapes.append(Shape("auth", ["security.auth.no_token"]))
    if _has(r"\bRBAC\b|role[- ]based|role hierarchy|least[- ]privilege|admin[- ]only|privilege escalation", text):
        shapes.append(Shape("authz", ["security.authz.bfla", "security.authz.mass_assignment"]))
    if _has(r"tenant isolation|multi-tenan|cross-tenant|\bBOLA\b|\bIDOR\b|object[- ]level", text):
        shapes.append(Shape("authz", ["security.authz.bola"]))
    injection = [("security.injection.sqli", r"\bSQL\b(?!ite)|parameteri[sz]ed quer"),
                 ("security.injection.nosql", r"NoSQL"),
                 ("security.injection.xss", r"\bXSS\b(?! protection\))|cross-site scripting"),
                 ("security.injection.path_traversal", r"path traversal|directory traversal"),
                 ("security.injection.ssti", r"template injection|\bSSTI\b"),
                 ("security.injection.crlf", r"\bCRLF\b|header injection"), ("security.ssrf.*", r"\bSSRF\b")]
    if _has(r"inject|sanitiz|\bXSS\b(?! protection\))|SSRF|traversal|parameteri[sz]ed", text):
        checks = [check for check, pattern in injection if _has(pattern, text)]
        shapes.append(Shape("injection", checks or ["security.injection.*"]))
    if _has(r"stack traces?|information (?:disclosure|leak)|error (?:details|messages) (?:do not|don't|never) leak", text):
        shapes.append(Shape("errors", ["security.errors.stack_trace"]))
    if _has(r"data exposure|sensitive (?:fields|data) (?:are )?(?:never )?(?:returned|exposed)", text):
        shapes.append(Shape("authz", ["security.authz.data_exposure"]))
    return shapes


def _resilience(text: str) -> list[Shape]:
    shapes: list[Shape] = []
    if _has(r"circuit[- ]?breakers?", text):
        params: dict[str, Any] = {}
        states = grammar.breaker_states(text)
        if states:
            params["states"] = states
        reset = grammar.duration_after(text, r"reset|recovery timeout|open for|cool[- ]?down")
        verify = ["chaos.*.breaker_cycle"]
        if reset:
            params["reset_s"] = reset
            verify.append("chaos.*.breaker_reset")
        shapes.append(Shape("resilience", verify, {"breaker": params} if params else {}))
    if _has(r"\bretr(?:y|ies)\b|backoff|jitter", text):
        params = {}
        if match := grammar.RETRY_SPEC.search(text):
            params["attempts"] = int(match.group("attempts"))
            if match.group("hi"):
                params["min_delay_s"] = grammar.seconds(match.group("lo"), match.group("lu") or match.group("hu"))
                params["max_delay_s"] = grammar.seconds(match.group("hi"), match.group("hu"))
        shapes.append(Shape("resilience", ["chaos.*.retry_jitter"], {"retry": params} if params else {}))
    if _has(r"fall ?back|failover|graceful(?:ly)? degrad|degrade|primary\s*(?:→|->)\s*secondary", text):
        shapes.append(Shape("resilience", list(FALLBACK), {"survives": {"component": "inference-gpu"}}))
    if _has(r"pod[- ]kill|self[- ]heal|auto[- ]?remediation|auto[- ]?restart|survives? (?:a )?(?:pod|replica|"
            r"instance|node) (?:kill|loss|failure|crash)", text):
        recover = grammar.duration_after(text, r"recover\w*(?: within| in)?|within|RTO")
        params = {"component": "gateway"} | ({"recover_within_s": recover} if recover else {})
        shapes.append(Shape("resilience", list(SELF_HEALING), {"survives": params}))
    if _has(r"database (?:outage|failure|loss|down)|survives? (?:the )?(?:loss of )?(?:the )?database", text):
        shapes.append(Shape("resilience", ["chaos.database_outage.hypothesis", "chaos.database_outage.recovery"],
                            {"survives": {"component": "database"}}))
    if _has(r"(?:redis|cache) (?:outage|failure|loss|down)|fails? closed", text):
        shapes.append(Shape("resilience", ["chaos.cache_outage.*"], {"survives": {"component": "redis"}}))
    if _has(r"no data loss|zero data loss|data (?:is )?never lost|acknowledged writes|durab|persist\w* (?:reliably )?"
            r"across (?:service )?restarts", text):
        shapes.append(Shape("durability", ["chaos.*.no_data_lost"]))
    return shapes


def _observability(text: str) -> list[Shape]:
    shapes = []
    if _has(r"/metrics|prometheus (?:format|metrics|exporter|endpoint)|metrics endpoint|requests? tracked|"
            r"duration histograms?", text):
        shapes.append(Shape("observability", ["load.*.metrics.*"]))
    if _has(r"health ?checks?|health endpoints?|/health\w*|/readyz|/livez|readiness (?:probe|endpoint)|liveness", text):
        shapes.append(Shape("observability", ["load.*.health.*"]))
    return shapes


def _contract(text: str) -> list[Shape]:
    shapes = []
    if _has(r"OpenAPI|Swagger|API contract|schema (?:validation|conformance)", text):
        shapes.append(Shape("contract", ["contract.*"]))
    elif _has(r"input validation|validat\w* (?:all )?inputs?|request validation", text):
        shapes.append(Shape("contract", ["contract.*.negative_data_rejection"]))
    if _has(r"memory leak|memory growth|\bRSS\b", text):
        shapes.append(Shape("performance", ["load.*.trend.rss*"]))
    return shapes


def recognise(text: str, section: str = "") -> list[Shape] | tuple[str, str]:
    """Testable shapes in ``text`` (one per claim to draw), or ``(category, reason)`` when none can be verified.

    Code spans and file paths are left out first: ``ai_fallback_chain.py`` names a file, not a fallback.
    """
    text = re.sub(r"`[^`]*`|\S+\.(?:py|ts|js|rs|go|ya?ml|json|sql|md|sh)\b", " ", text)
    settled = untestable_reason(text, section)
    if settled:
        return settled
    kubernetes = _kubernetes(text)
    if kubernetes:
        return [kubernetes]
    split = _rate_limits(text) or _latency(text)
    if split:
        if split[0].verify == []:
            return "rate_limit", ("states no limit and window: write params.rate_limit (limit, window_s, per) into "
                                  "the claims file to verify it")
        return split
    if grammar.header_line(text):
        return [_headers(text)]  # type: ignore[list-item]  # "X-XSS-Protection: 1; mode=block" names a header only
    shapes = [s for s in [_login(text), _load_numbers(text), _headers(text)] if s is not None]
    shapes += _security(text) + _resilience(text) + _observability(text) + _contract(text)
    if not shapes:
        return fallback_reason(text)
    merged = shapes[0]
    for other in shapes[1:]:
        merged.merge(other)
    return [merged]
