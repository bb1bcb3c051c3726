"""Rate-limit verification: the limit the target publishes, and each claim's own ``rate_limit: {limit, window_s, per}``.

Each set of numbers is verified by its own run with identities no earlier run has driven into a limit
(``harness.claims.runs``: the target's own numbers first, then each claim that states others, recorded
claim-only). A run that finds no fresh identity is skipped with that reason rather than judged from a
budget an earlier run already spent.

Order matters and is fixed: user A is driven into the limit (``enforced``), bypasses are tried while A
is throttled, user B must still get through (``per_user``), B's concurrent burst must not exceed the
limit (``burst``), and - only when the window fits the profile's time budget - A's traffic is shaped
to expose fixed windows (``window``): wait until A is admitted again, wait half a window, burst, wait
until admitted again, burst. A fixed window then admits ~2x the limit within one rolling window; a
sliding window never admits more than the limit. The verdict uses the max accepted in any rolling window.

``headers`` judges the RateLimit headers A saw on the way into the limit: they must not advertise a
remaining budget that the limiter then denies (or that the claim no longer allows). It runs even when
the limit is never reached: a limiter that never says 429 but keeps saying remaining=0 has honest
headers and a failed ``enforced``.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from harness.claims.parameters import RateLimitParams as RateLimitClaim
from harness.claims.runs import ParamRun
from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, ProbeGroup, for_claims, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Operation
from harness.security.probes.jwt import probe_operation

API4 = "API4:2023"
ENFORCED = rule("security.ratelimit.enforced", "The claimed rate limit is enforced", Severity.HIGH, API4, "CWE-770",
                "Answer 429 once a client exceeds the published limit within the window.")
PER_USER = rule("security.ratelimit.per_user", "The limit is per user (one user cannot starve another)",
                Severity.HIGH, API4, "CWE-770", "Key the limiter on the authenticated principal, not one global bucket.")
BURST = rule("security.ratelimit.burst", "A concurrent burst cannot exceed the limit", Severity.MEDIUM, API4,
             "CWE-362", "Make check-and-increment atomic (a transaction, Redis INCR/Lua), not read-then-write.")
WINDOW = rule("security.ratelimit.window", "At most the limit is accepted in any rolling window", Severity.MEDIUM,
              API4, "CWE-770", "Use a sliding window (log or weighted counter); fixed windows admit ~2x at boundaries.")
RETRY_AFTER = rule("security.ratelimit.retry_after", "429 responses say when to retry", Severity.LOW, API4, "CWE-770",
                   "Send Retry-After (and RateLimit/RateLimit-Policy headers) with every 429.")
HEADERS = rule("security.ratelimit.headers", "RateLimit headers do not advertise budget that is not there",
               Severity.LOW, API4, "CWE-684", "Compute RateLimit/RateLimit-Remaining (or X-RateLimit-Remaining) "
               "from the limiter's own counter: remaining=0 on a 429 and once the limit is used up.")
BYPASS = rule("security.ratelimit.bypass", "The limit cannot be bypassed (X-Forwarded-For, path variants, HEAD)",
              Severity.HIGH, API4, "CWE-290", "Ignore client-supplied forwarding headers unless set by a trusted proxy; "
              "normalise paths before keying the limiter; count HEAD like GET.")
MAX_PROBE_REQUESTS = 2000
BURST_WORKERS = 8
RULES = (ENFORCED, HEADERS, PER_USER, BURST, WINDOW, RETRY_AFTER, BYPASS)


def claim_operation(ctx: ProbeContext, claim: RateLimitClaim) -> Operation | None:
    for key in claim.operations:
        method, _, path = key.partition(" ")
        op = ctx.spec.find(method, path)
        if op is not None and not op.path_params:
            return op
    return probe_operation(ctx)


def run(ctx: ProbeContext) -> list[Outcome]:
    runs = ctx.rate_limits()
    if not runs:
        return [r.not_applicable("no rate limit to verify: the target publishes none and no claim states one "
                                 "(--claims FILE with params.rate_limit)") for r in RULES]
    return [o for param_run in runs for o in for_claims(verify(ctx, param_run), param_run.claims,
                                                         param_run.claim_only)]


def fresh_identities(ctx: ProbeContext) -> list[Identity]:
    """Users first, then the other identities, leaving out those an earlier run drove into a limit."""
    users = ctx.identities.users()
    ordered = users + [i for i in ctx.identities.all if i not in users]
    return [i for i in ordered if i.name not in ctx.used_identities]


def verify(ctx: ProbeContext, param_run: ParamRun[RateLimitClaim]) -> list[Outcome]:
    claim = param_run.params
    op = claim_operation(ctx, claim)
    if op is None or not ctx.identities.all:
        return [r.not_applicable("no operation in the claim's scope, or no identities") for r in RULES]
    if claim.limit * 2 + 20 > MAX_PROBE_REQUESTS:
        return [r.skipped(f"limit {claim.limit} needs more than {MAX_PROBE_REQUESTS} requests to verify "
                          f"({param_run.label})") for r in RULES]
    users = fresh_identities(ctx)
    if not users:
        return [r.skipped(f"every identity was already driven into a rate limit by an earlier run; verifying "
                          f"{claim.limit} per {claim.window_s:g} s ({param_run.label}) needs a fresh budget",
                          location=op.key) for r in RULES]
    a = users[0]
    b = users[1] if len(users) > 1 else None
    ctx.used_identities.update(i.name for i in (a, b) if i is not None)
    if claim.window_s <= ctx.budget.max_wait_s / 3:
        time.sleep(claim.window_s)  # earlier probes' requests age out: the drive starts from a full budget
    drive = drive_into_limit(ctx, op, a, claim)
    enforced, throttled = drive.outcome, drive.first_429
    outcomes = [enforced, advertised_budget(op, drive, claim)]
    if throttled is None:
        reason = "the limit was never reached, so what happens beyond it cannot be observed"
        return outcomes + [r.skipped(reason, location=op.key) for r in (RETRY_AFTER, BYPASS, PER_USER, BURST, WINDOW)]
    outcomes.append(bypass(ctx, op, a))
    outcomes.append(retry_after(op, throttled))
    outcomes += headers_on_429(op, throttled)
    if b is None or claim.per != "user":
        reason = "needs two identities" if b is None else f"the claim is per {claim.per}, not per user"
        outcomes += [PER_USER.not_applicable(reason, location=op.key), BURST.not_applicable(reason, location=op.key)]
    else:
        outcomes.append(per_user(ctx, op, a, b))
        outcomes.append(burst(ctx, op, b, claim))
    outcomes.append(window(ctx, op, a, claim))
    return outcomes


def _send(ctx: ProbeContext, op: Operation, identity: Identity, **kwargs) -> tuple[float, httpx.Response]:
    sent_at = time.monotonic()
    return sent_at, ctx.call(op, identity, retry_429=False, **kwargs)


@dataclass
class Drive:
    """User A driven into the limit: the verdict, the first 429 and every exchange on the way."""

    outcome: Outcome
    first_429: httpx.Response | None
    sent: list[tuple[float, httpx.Response]] = field(default_factory=list)  # (sent_at, response)


def drive_into_limit(ctx: ProbeContext, op: Operation, a: Identity, claim: RateLimitClaim) -> Drive:
    allowed = int(claim.limit * (1 + claim.tolerance))
    accepted, first_429, response = 0, None, None
    sent: list[tuple[float, httpx.Response]] = []
    started = time.monotonic()
    for _ in range(allowed + 5):
        sent.append(_send(ctx, op, a))
        response = sent[-1][1]
        if response.status_code == 429:
            first_429 = response
            break
        if response.is_success:
            accepted += 1
    elapsed = time.monotonic() - started
    evidence = Evidence(measured={"claim": claim.model_dump(), "accepted_before_429": accepted,
                                  "elapsed_s": round(elapsed, 2), "identity": a.name},
                        samples=[sample(first_429, "first 429")] if first_429 is not None else [])
    if first_429 is None:
        if response is not None:
            evidence.curl = (f"for i in $(seq {allowed + 5}); do {curl(response)} -s -o /dev/null "
                             "-w '%{http_code}\\n'; done  # never 429")
        return Drive(ENFORCED.failed(f"{accepted} requests in {elapsed:.1f} s, never a 429 (claim: {claim.limit} "
                                     f"per {claim.window_s:g} s)", location=op.key, evidence=evidence), None, sent)
    return Drive(ENFORCED.passed(f"429 after {accepted} accepted in {elapsed:.1f} s (claim {claim.limit}/"
                                 f"{claim.window_s:g} s; earlier probes may have used part of the window)",
                                 location=op.key, evidence=evidence), first_429, sent)


def remaining_budget(headers: httpx.Headers) -> int | None:
    """The remaining requests a response advertises, in any common spelling; None when it says nothing.

    ``RateLimit-Remaining``/``X-RateLimit-Remaining`` (older drafts, GitHub style), ``RateLimit: limit=100,
    remaining=7, reset=3`` (draft 7/8) and ``RateLimit: "default";r=7;t=3`` (structured, draft 9+).
    """
    for name in ("ratelimit-remaining", "x-ratelimit-remaining"):
        value = headers.get(name, "").split(",")[0].strip()
        if value.isdigit():
            return int(value)
    match = re.search(r"(?:^|[,;\s])(?:remaining|r)\s*=\s*(\d+)", headers.get("ratelimit", ""))
    return int(match.group(1)) if match else None


def headers_problem(sent: list[tuple[float, httpx.Response]], allowed: int,
                    window_s: float) -> tuple[str, int] | None:
    """Where the advertised remaining budget is contradicted by what happened: (what, index of the answer).

    - a 429 that still advertises remaining > 0;
    - remaining > 0 after more than ``allowed`` requests were accepted within one window;
    - remaining > 1 on the answer right before a 429 (1 allows an off-by-one).

    remaining=0 while requests keep being accepted is not a lie of the headers (they say the budget is
    spent, which is what the claim says): that is the limiter not enforcing, ``security.ratelimit.enforced``.
    """
    accepted_at: list[float] = []
    for index, (sent_at, response) in enumerate(sent):
        if response.is_success:
            accepted_at.append(sent_at)
        remaining = remaining_budget(response.headers)
        if not remaining:
            continue
        if response.status_code == 429:
            return f"a 429 advertises remaining={remaining}", index
        in_window = sum(t > sent_at - window_s for t in accepted_at)
        if in_window > allowed:
            return f"remaining={remaining} after {in_window} requests were accepted within {window_s:g} s", index
        following = sent[index + 1][1] if index + 1 < len(sent) else None
        if remaining > 1 and following is not None and following.status_code == 429:
            return f"remaining={remaining}, and the very next request got 429", index
    return None


def advertised_budget(op: Operation, drive: Drive, claim: RateLimitClaim) -> Outcome:
    """The RateLimit headers seen while A was driven into the limit, against what the limiter did."""
    observed = [(r.status_code, remaining_budget(r.headers)) for _, r in drive.sent]
    if all(remaining is None for _, remaining in observed):
        return HEADERS.not_applicable("no RateLimit / X-RateLimit remaining header on any answer", location=op.key)
    allowed = int(claim.limit * (1 + claim.tolerance))
    found = headers_problem(drive.sent, allowed, claim.window_s)
    evidence = Evidence(measured={"status_and_remaining": observed[-12:], "allowed": allowed},
                        samples=[sample(drive.sent[-1][1], "last answer")])
    if found:
        problem, index = found
        liar = drive.sent[index][1]
        evidence.samples = [sample(r, f"answer {i + 1}: remaining={remaining_budget(r.headers)}")
                            for i, (_, r) in enumerate(drive.sent) if i in (index, index + 1)]
        evidence.curl = curl(liar)
        return HEADERS.failed(problem, location=op.key, evidence=evidence)
    return HEADERS.passed(f"remaining fell to {observed[-1][1]} as the budget was used"
                          + ("; the limit itself was not enforced (see security.ratelimit.enforced)"
                             if drive.first_429 is None else ""), location=op.key, evidence=evidence)


def retry_after(op: Operation, throttled: httpx.Response) -> Outcome:
    headers = {k: throttled.headers.get(k) for k in ("retry-after", "ratelimit", "ratelimit-policy",
                                                      "x-ratelimit-remaining", "x-ratelimit-reset")}
    evidence = Evidence(measured={k: v for k, v in headers.items() if v}, samples=[sample(throttled)])
    if not headers["retry-after"]:
        evidence.curl = curl(throttled)
        return RETRY_AFTER.failed("429 without Retry-After", location=op.key, evidence=evidence)
    return RETRY_AFTER.passed(f"Retry-After: {headers['retry-after']}", location=op.key, evidence=evidence)


def headers_on_429(op: Operation, throttled: httpx.Response) -> list[Outcome]:
    """The secure-header judges on the 429 (limiters often answer before the header middleware runs).

    Only failures are returned: the header checks already passed/failed on 200/401/404 responses.
    """
    from harness.security.probes.headers import JUDGES

    out = []
    for rule_, judge in JUDGES:
        problem = judge(throttled.headers)
        if problem:
            out.append(rule_.failed(f"{problem} (on the 429 response)", location=f"{op.key} (429)",
                                    evidence=Evidence(measured={"status": 429, "problem": problem},
                                                      samples=[sample(throttled)], curl=curl(throttled))))
    return out


def bypass(ctx: ProbeContext, op: Operation, a: Identity) -> Outcome:
    path = ctx.url(op)
    auth = ctx.identities.bearer(a)
    get = ctx.client.get
    attempts = {
        "X-Forwarded-For": get(path, headers={**auth, "X-Forwarded-For": "198.51.100.7"}, retry_429=False),
        "X-Real-IP": get(path, headers={**auth, "X-Real-IP": "198.51.100.8"}, retry_429=False),
        "trailing slash": get(path.rstrip("/") + "/", headers=auth, retry_429=False),
        "upper-case path": get(path.upper(), headers=auth, retry_429=False),
        "HEAD": ctx.client.request("HEAD", path, headers=auth, retry_429=False),
    }
    bypassed = {label: r for label, r in attempts.items() if r.is_success}
    evidence = Evidence(measured={label: r.status_code for label, r in attempts.items()},
                        samples=[sample(r, label) for label, r in (bypassed or attempts).items()][:3])
    if bypassed:
        evidence.curl = curl(next(iter(bypassed.values())))
        return BYPASS.failed(f"throttled user got through with: {', '.join(bypassed)}", location=op.key,
                             evidence=evidence)
    return BYPASS.passed(f"{len(attempts)} bypass attempts all refused", location=op.key, evidence=evidence)


def per_user(ctx: ProbeContext, op: Operation, a: Identity, b: Identity) -> Outcome:
    _, response = _send(ctx, op, b)
    evidence = Evidence(measured={"throttled": a.name, "other": b.name, "other_status": response.status_code},
                        samples=[sample(response, f"{b.name} while {a.name} is throttled")])
    if response.status_code == 429:
        evidence.curl = curl(response)
        return PER_USER.failed(f"{b.name} is throttled because {a.name} used the limit (one shared bucket)",
                               location=op.key, evidence=evidence)
    return PER_USER.passed(f"{b.name} unaffected ({response.status_code})", location=op.key, evidence=evidence)


def burst(ctx: ProbeContext, op: Operation, b: Identity, claim: RateLimitClaim) -> Outcome:
    size = claim.limit + max(10, claim.limit // 2)
    with ThreadPoolExecutor(max_workers=BURST_WORKERS) as pool:
        responses = list(pool.map(lambda _: _send(ctx, op, b)[1], range(size)))
    statuses = [r.status_code for r in responses]
    accepted = sum(200 <= s < 300 for s in statuses)
    allowed = int(claim.limit * (1 + claim.tolerance))
    evidence = Evidence(measured={"sent": size, "accepted": accepted, "allowed": allowed,
                                  "status_counts": {str(s): statuses.count(s) for s in sorted(set(statuses))}})
    if accepted > allowed:
        beyond = [r for r in responses if r.is_success][allowed:]
        evidence.samples = [sample(r, f"accepted beyond the limit ({allowed} allowed)") for r in beyond[:2]]
        evidence.curl = (f"seq {size} | xargs -P {BURST_WORKERS} -I{{}} {curl(beyond[0])} -s -o /dev/null "
                         "-w '%{http_code}\\n' | sort | uniq -c")
        return BURST.failed(f"{accepted} of {size} concurrent requests accepted (claim {claim.limit})",
                            location=op.key, evidence=evidence)
    return BURST.passed(f"{accepted} of {size} concurrent requests accepted (<= {allowed})", location=op.key,
                        evidence=evidence)


def max_in_rolling_window(times: list[float], window_s: float) -> int:
    """The most timestamps inside any half-open window [t, t + window_s)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def window(ctx: ProbeContext, op: Operation, a: Identity, claim: RateLimitClaim) -> Outcome:
    needed = claim.window_s * 2.7 + 2
    if needed > ctx.budget.max_wait_s:
        return WINDOW.skipped(f"exposing fixed windows needs ~{needed:.0f} s for a {claim.window_s:g} s window; "
                              f"this profile allows {ctx.budget.max_wait_s:.0f} s (run profile full, or a shorter "
                              "test window)", location=op.key)
    admitted: list[float] = []
    last_admitted: list[httpx.Response] = []  # the last request each burst got through, for evidence
    poll = max(claim.window_s / 20, 0.05)

    def until_admitted(limit_s: float) -> bool:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            sent_at, response = _send(ctx, op, a)
            if response.is_success:
                admitted.append(sent_at)
                return True
            time.sleep(poll)
        return False

    def burst_sequential() -> None:
        last = None
        for _ in range(claim.limit + 5):
            sent_at, response = _send(ctx, op, a)
            if response.is_success:
                admitted.append(sent_at)
                last = response
            elif response.status_code == 429:
                break
        if last is not None:
            last_admitted.append(last)

    started = time.monotonic()
    if not until_admitted(claim.window_s * 1.2):
        return WINDOW.skipped(f"{a.name} was not admitted again within 1.2 windows", location=op.key)
    time.sleep(claim.window_s / 2)
    burst_sequential()
    if until_admitted(claim.window_s * 1.2):
        burst_sequential()
    best = max_in_rolling_window(admitted, claim.window_s)
    allowed = int(claim.limit * (1 + claim.tolerance))
    evidence = Evidence(measured={"max_accepted_in_rolling_window": best, "limit": claim.limit,
                                  "window_s": claim.window_s, "admitted": len(admitted),
                                  "elapsed_s": round(time.monotonic() - started, 1)},
                        samples=[sample(r, f"last admitted request of burst {i}") for i, r in enumerate(last_admitted, 1)])
    if best > allowed:
        evidence.curl = curl(last_admitted[-1]) if last_admitted else None
        return WINDOW.failed(f"{best} requests accepted within one rolling {claim.window_s:g} s window "
                             f"(claim {claim.limit}): a higher limit than claimed, or fixed windows", location=op.key,
                             evidence=evidence)
    return WINDOW.passed(f"max {best} accepted in any rolling {claim.window_s:g} s window", location=op.key,
                         evidence=evidence)


GROUP = ProbeGroup("ratelimit", run, RULES, spends_budget=True)
