"""Rate-limit verification: the limit the target publishes, and each claim's own ``rate_limit: {limit, window_s, per}``.

Each set of numbers is verified by its own run with identities no earlier run has driven into a limit
(``harness.claims.runs``: the target's own numbers first, then each claim that states others, recorded
claim-only). A run that finds no fresh identity is skipped with that reason rather than judged from a
budget an earlier run already spent.

Order matters and is fixed: user A is driven into the limit from an empty window (``enforced``), user B
must still get through right then (``per_user``: nothing of A's burst has aged out yet), bypasses are
tried while A is throttled, B's concurrent burst (from a fresh window) must not exceed the limit
(``burst``), and - only when the window fits the profile's time budget - A's traffic is shaped
to expose fixed windows (``window``): wait until A is admitted again, wait half a window, burst, wait
until admitted again, burst. A fixed window then admits ~2x the limit within one rolling window; a
sliding window never admits more than the limit. The verdict uses the max accepted in any rolling window.

``headers`` judges the RateLimit headers A saw on the way into the limit: they must not advertise a
remaining budget that the limiter then denies (or that the claim no longer allows). It runs even when
the limit is never reached: a limiter that never says 429 but keeps saying remaining=0 has honest
headers and a failed ``enforced``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.claims.parameters import RateLimitParams as RateLimitClaim
from harness.claims.runs import ParamRun
from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, ProbeGroup, for_claims, rule
from harness.security.client import curl, reset_s, retry_after_s, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Operation
from harness.security.probes.jwt import probe_operation
from harness.security.probes.ratelimit_judges import headers_problem, max_in_rolling_window, remaining_budget

__all__ = ["headers_problem", "max_in_rolling_window", "remaining_budget", "run"]

API4 = "API4:2023"
ENFORCED = rule("security.ratelimit.enforced", "The claimed rate limit is enforced", Severity.HIGH, API4, "CWE-770",
                "Answer 429 once a client exceeds the published limit within the window.", measures_throttling=True)
PER_USER = rule("security.ratelimit.per_user", "The limit is per user (one user cannot starve another)",
                Severity.HIGH, API4, "CWE-770", "Key the limiter on the authenticated principal, not one global bucket.",
                measures_throttling=True)
BURST = rule("security.ratelimit.burst", "A concurrent burst cannot exceed the limit", Severity.MEDIUM, API4,
             "CWE-362", "Make check-and-increment atomic (a transaction, Redis INCR/Lua), not read-then-write.",
             measures_throttling=True)
WINDOW = rule("security.ratelimit.window", "At most the limit is accepted in any rolling window", Severity.MEDIUM,
              API4, "CWE-770", "Use a sliding window (log or weighted counter); fixed windows admit ~2x at boundaries.",
              measures_throttling=True)
RETRY_AFTER = rule("security.ratelimit.retry_after", "429 responses say when to retry", Severity.LOW, API4, "CWE-770",
                   "Send Retry-After (and RateLimit/RateLimit-Policy headers) with every 429.", measures_throttling=True)
HEADERS = rule("security.ratelimit.headers", "RateLimit headers do not advertise budget that is not there",
               Severity.LOW, API4, "CWE-684", "Compute RateLimit/RateLimit-Remaining (or X-RateLimit-Remaining) "
               "from the limiter's own counter: remaining=0 on a 429 and once the limit is used up.",
               measures_throttling=True)
BYPASS = rule("security.ratelimit.bypass", "The limit cannot be bypassed (X-Forwarded-For, path variants, HEAD)",
              Severity.HIGH, API4, "CWE-290", "Ignore client-supplied forwarding headers unless set by a trusted proxy; "
              "normalise paths before keying the limiter; count HEAD like GET.", measures_throttling=True)
MAX_PROBE_REQUESTS = 2000
MAX_DISCOVERY_REQUESTS = 400  # no claim: requests sent looking for the first 429
BYPASS_TRIES = 2  # variant requests per bypass, each between two plain ones
BYPASS_ROUNDS = 3  # a round whose plain requests were not all refused (the window moved on) is tried again
PER_USER_TRIES = 3  # B's requests while A is throttled
MAX_FRESH_WINDOW_WAIT_S = 10.0  # wait this long at most for a window to empty before a burst
BURST_WORKERS = 8
MIN_DRIVE_S = 10.0  # driving A into the limit may take 2x the profile's wait budget, never less than this
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
        return discovered_limit(ctx)
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
    wait_for_empty_window(ctx, claim.window_s)
    drive = drive_into_limit(ctx, op, a, claim)
    enforced, throttled = drive.outcome, drive.first_429
    outcomes = [enforced, advertised_budget(op, drive, claim)]
    if throttled is None:
        reason = "the limit was never reached, so what happens beyond it cannot be observed"
        return outcomes + [r.skipped(reason, location=op.key) for r in (RETRY_AFTER, BYPASS, PER_USER, BURST, WINDOW)]
    per_user_applies = b is not None and claim.per == "user"
    if per_user_applies:  # first: A's burst just filled the window, nothing of it ages out for a while
        outcomes.append(per_user(ctx, op, a, b, claim.limit))  # type: ignore[arg-type]
    outcomes.append(bypass(ctx, op, a, claim.limit))
    outcomes.append(retry_after(op, throttled))
    if not per_user_applies:
        reason = "needs two identities" if b is None else f"the claim is per {claim.per}, not per user"
        outcomes += [PER_USER.not_applicable(reason, location=op.key), BURST.not_applicable(reason, location=op.key)]
    else:
        wait_for_empty_window(ctx, claim.window_s)  # B's burst from a budget of its own, whatever per_user spent
        outcomes.append(burst(ctx, op, b, claim))  # type: ignore[arg-type]
    outcomes.append(window(ctx, op, a, claim))
    return outcomes


def wait_for_empty_window(ctx: ProbeContext, window_s: float) -> bool:
    """Let a short window run out, so the next burst fills it at once (no earlier entry frees a slot while the
    bypasses are tried, which a sliding window would hand to whichever request comes next)."""
    if window_s > MAX_FRESH_WINDOW_WAIT_S:
        return False
    time.sleep(window_s + 0.2)
    return True


def drive_again(ctx: ProbeContext, op: Operation, headers: dict[str, str], limit: int) -> bool:
    """Plain requests (with these credentials, no re-login on the way) until one is refused again: True then."""
    for _ in range(limit * 2 + 5):
        if ctx.client.request(op.method, ctx.url(op), headers=headers, retry_429=False).status_code == 429:
            return True
    return False


def discovery_operation(ctx: ProbeContext) -> tuple[Operation | None, Identity | None]:
    """What to drive into an unknown limit: an authenticated GET without inputs, else a public one."""
    users = ctx.identities.users() or ctx.identities.all
    op = probe_operation(ctx)
    if op is not None and users:
        return op, users[0]
    public = [o for o in ctx.spec.operations if o.method == "GET" and not o.path_params and not ctx.authenticated(o)
              and not any(p.required for p in o.parameters)]
    return (public[0] if public else None), None


def discovered_limit(ctx: ProbeContext) -> list[Outcome]:
    """No claim: send until the first 429 (bounded), then judge what needs no number - bypasses, Retry-After,
    honest RateLimit headers. Whether the limit is right is the team's claim to make, so ``enforced`` passes
    only as "found" and per-user/burst/window are not applicable."""
    op, a = discovery_operation(ctx)
    no_claim = "no rate limit stated (claims.rate_limit in the target file, or a --claims file): "
    if op is None:
        return [r.not_applicable(no_claim + "and no GET operation without inputs to drive into a limit")
                for r in RULES]
    started = time.monotonic()
    sent: list[tuple[float, httpx.Response]] = []
    first_429 = None
    while len(sent) < MAX_DISCOVERY_REQUESTS and time.monotonic() - started < ctx.budget.max_wait_s * 2:
        sent.append(_send(ctx, op, a))
        if sent[-1][1].status_code == 429:
            first_429 = sent[-1][1]
            break
    accepted = sum(1 for _, r in sent if r.is_success)
    elapsed = time.monotonic() - started
    measured = {"accepted_before_429": accepted, "sent": len(sent), "elapsed_s": round(elapsed, 2),
                "identity": a.name if a else "anonymous"}
    if first_429 is None:
        reason = (no_claim + f"no 429 within {len(sent)} requests in {elapsed:.1f} s; state the limit "
                  "(claims.rate_limit) to have it judged")
        return [r.not_applicable(reason, location=op.key, evidence=Evidence(measured=measured)) for r in RULES]
    # every request of the drive was accepted, so its first one is still in the window when the first 429 comes:
    # the window is about the drive's duration plus the wait the 429 asks for (Retry-After alone is the wait
    # until the *oldest* entry ages out, not the window)
    wait_s = retry_after_s(first_429) or reset_s(first_429.headers)
    window_s = wait_s + elapsed if wait_s is not None else 60.0
    found = RateLimitClaim(limit=max(accepted, 1), window_s=max(window_s, 1.0), tolerance=0.0)
    evidence = Evidence(measured={**measured, "retry_after": first_429.headers.get("retry-after"),
                                  "window_estimate_s": round(found.window_s, 1)},
                        samples=[sample(first_429, "first 429")])
    drive = Drive(ENFORCED.passed(f"found empirically (no claim given): 429 after {accepted} accepted in "
                                  f"{elapsed:.1f} s", location=op.key, evidence=evidence), first_429, sent)
    outcomes = [drive.outcome, advertised_budget(op, drive, found)]
    if wait_for_empty_window(ctx, found.window_s):  # a burst from an empty window: no slot frees during bypasses
        drive_again(ctx, op, ctx.identities.bearer(a) if a is not None else {}, found.limit)
    outcomes += [bypass(ctx, op, a, found.limit), retry_after(op, first_429)]
    why = no_claim + "how many requests per what is the team's claim to make"
    return outcomes + [r.not_applicable(why, location=op.key) for r in (PER_USER, BURST, WINDOW)]


def _send(ctx: ProbeContext, op: Operation, identity: Identity | None, **kwargs: Any) -> tuple[float, httpx.Response]:
    sent_at = time.monotonic()
    return sent_at, ctx.call(op, identity, retry_429=False, **kwargs)


@dataclass
class Drive:
    """User A driven into the limit: the verdict, the first 429 and every exchange on the way."""

    outcome: Outcome
    first_429: httpx.Response | None
    sent: list[tuple[float, httpx.Response]] = field(default_factory=list)  # (sent_at, response)


def drive_into_limit(ctx: ProbeContext, op: Operation, a: Identity, claim: RateLimitClaim) -> Drive:
    """A's requests one after another until the first 429 - bounded in count, and in time: a target too slow to
    get more than the limit into one window cannot be driven into it, and that is said, not judged."""
    allowed = int(claim.limit * (1 + claim.tolerance))
    accepted, first_429, response = 0, None, None
    sent: list[tuple[float, httpx.Response]] = []
    started = time.monotonic()
    budget_s = max(MIN_DRIVE_S, 2 * ctx.budget.max_wait_s)
    deadline = started + budget_s
    count = allowed + 5
    for index in range(count):
        sent.append(_send(ctx, op, a))
        response = sent[-1][1]
        if response.status_code == 429:
            first_429 = response
            break
        if response.is_success:
            accepted += 1
        if time.monotonic() > deadline or _cannot_exceed(sent, claim.window_s, allowed, count - index - 1):
            break
    elapsed = time.monotonic() - started
    peak = max_in_rolling_window([t for t, r in sent if r.is_success], claim.window_s)
    evidence = Evidence(measured={"claim": claim.model_dump(), "accepted_before_429": accepted,
                                  "most_accepted_in_one_window": peak, "allowed": allowed, "sent": len(sent),
                                  "elapsed_s": round(elapsed, 2), "identity": a.name},
                        samples=[sample(first_429, "first 429")] if first_429 is not None else [])
    if first_429 is None:
        if response is not None:
            evidence.curl = (f"for i in $(seq {allowed + 5}); do {curl(response)} -s -o /dev/null "
                             "-w '%{http_code}\\n'; done  # never 429")
        if accepted * 2 < len(sent):  # the operation itself refused them: no budget was spent to reach
            statuses = sorted({r.status_code for _, r in sent})
            return Drive(ENFORCED.inconclusive(
                f"only {accepted} of {len(sent)} requests were accepted (answers {statuses}): the limit cannot be "
                "reached through refused requests", location=op.key, evidence=evidence), None, sent)
        if peak <= allowed:  # nothing beyond the limit was ever asked of one window: the limiter was not tested
            per_request_ms = elapsed / max(len(sent), 1) * 1000
            return Drive(ENFORCED.inconclusive(
                f"too slow to drive to the limit within the probe's {budget_s:.0f} s: {len(sent)} requests in "
                f"{elapsed:.1f} s (~{per_request_ms:.0f} ms each), at most {peak} within any {claim.window_s:g} s "
                f"window, never more than the {allowed} allowed (claim {claim.limit} per {claim.window_s:g} s); "
                "a longer profile (full) or a shorter test window can decide it", location=op.key,
                evidence=evidence), None, sent)
        return Drive(ENFORCED.failed(f"{accepted} requests in {elapsed:.1f} s, never a 429 (claim: {claim.limit} per "
                                     f"{claim.window_s:g} s); {peak} of them within one window", location=op.key,
                                     evidence=evidence), None, sent)
    return Drive(ENFORCED.passed(f"429 after {accepted} accepted in {elapsed:.1f} s (claim {claim.limit}/"
                                 f"{claim.window_s:g} s; earlier probes may have used part of the window)",
                                 location=op.key, evidence=evidence), first_429, sent)


def _cannot_exceed(sent: list[tuple[float, httpx.Response]], window_s: float, allowed: int, left: int) -> bool:
    """True once even every request still to send, accepted within the current window, could not take it past
    ``allowed``: going on cannot show a broken limit (only a slow target spending the budget)."""
    now = time.monotonic()
    in_window = sum(1 for t, r in sent if r.is_success and t > now - window_s)
    return in_window + left <= allowed and max_in_rolling_window([t for t, r in sent if r.is_success],
                                                                  window_s) <= allowed


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


def bypass(ctx: ProbeContext, op: Operation, a: Identity | None, limit: int) -> Outcome:
    """Each variant ``BYPASS_TRIES`` times, between plain requests: a bypass gets through every time while every
    plain request around it is refused. Callers drive the limit in one burst from an empty window first (a
    sliding window whose older entries age out frees slots that land on whichever request comes next); before
    each variant the plain request is driven into the limit again in case the window moved on."""
    path = ctx.url(op)
    get = ctx.client.get
    variants = {
        "X-Forwarded-For": lambda h: get(path, headers={**h, "X-Forwarded-For": "198.51.100.7"}, retry_429=False),
        "X-Real-IP": lambda h: get(path, headers={**h, "X-Real-IP": "198.51.100.8"}, retry_429=False),
        "trailing slash": lambda h: get(path.rstrip("/") + "/", headers=h, retry_429=False),
        "upper-case path": lambda h: get(path.upper(), headers=h, retry_429=False),
        "HEAD": lambda h: ctx.client.request("HEAD", path, headers=h, retry_429=False),
    }
    with ctx.client.one_connection():  # plain and variant along the same path (replica)
        attempts, bypassed, undecided, reset = _try_variants(ctx, op, a, limit, path, variants)
    evidence = Evidence(measured={**{label: r.status_code for label, r in attempts.items()}, "stopped": reset,
                                  "undecided": undecided},
                        samples=[sample(r, label) for label, r in (bypassed or attempts).items()][:3])
    if bypassed:
        evidence.curl = curl(next(iter(bypassed.values())))
        return BYPASS.failed(f"throttled user got through with: {', '.join(bypassed)} (while the plain request "
                             "was still refused)", location=op.key, evidence=evidence)
    if not attempts:
        return BYPASS.inconclusive(f"no bypass could be tried: {reset}", location=op.key, evidence=evidence)
    if undecided:
        return BYPASS.inconclusive(f"{', '.join(undecided)}: the plain request was let through between attempts in "
                                   f"each of {BYPASS_ROUNDS} rounds (the window kept moving on), so a variant's 2xx "
                                   "proves nothing", location=op.key, evidence=evidence)
    return BYPASS.passed(f"{len(attempts)} bypass attempts all refused" + (f"; {reset}" if reset else ""),
                         location=op.key, evidence=evidence)


def _try_variants(ctx: ProbeContext, op: Operation, a: Identity | None, limit: int, path: str,
                  variants: dict) -> tuple[dict[str, httpx.Response], dict[str, httpx.Response], list[str], str | None]:
    """Per variant: the last attempt, the variants that bypassed, those never judged on a clean round, and why
    the probe stopped early (None)."""
    get = ctx.client.get
    attempts: dict[str, httpx.Response] = {}
    bypassed: dict[str, httpx.Response] = {}
    undecided: list[str] = []
    for label, send in variants.items():
        for _ in range(BYPASS_ROUNDS):
            auth = ctx.identities.bearer(a) if a is not None else {}  # fresh for this sequence, no re-login inside
            if not drive_again(ctx, op, auth, limit):  # throttled again first: the window may have moved on since
                return attempts, bypassed, undecided, f"could not get throttled again before {label!r}"
            plain, tried = [], []  # then plain and variant alternating, starting and ending with plain
            for step in range(2 * BYPASS_TRIES + 1):
                if step % 2 == 0:
                    plain.append(get(path, headers=auth, retry_429=False))
                else:
                    tried.append(send(auth))
            attempts[label] = tried[-1]
            if all(r.status_code == 429 for r in plain):  # a clean round: the limit held around every attempt
                if all(r.is_success for r in tried):
                    bypassed[label] = tried[-1]
                break
        else:
            undecided.append(label)
    return attempts, bypassed, undecided, None


def per_user(ctx: ProbeContext, op: Operation, a: Identity, b: Identity, limit: int) -> Outcome:
    """B sends ``PER_USER_TRIES`` requests right after A was refused: B's own budget covers them all, so one 429
    means B shares A's bucket. (A single request could land on a slot A's sliding window just freed.)"""
    auth_a, auth_b = ctx.identities.bearer(a), ctx.identities.bearer(b)  # before: a re-login would switch path
    with ctx.client.one_connection():  # A refused, then B, along the same connection (replica) as A
        drive_again(ctx, op, auth_a, limit)
        responses = [ctx.client.request(op.method, ctx.url(op), headers=auth_b, retry_429=False)
                     for _ in range(PER_USER_TRIES)]
    statuses = [r.status_code for r in responses]
    refused = [r for r in responses if r.status_code == 429]
    evidence = Evidence(measured={"throttled": a.name, "other": b.name, "other_statuses": statuses},
                        samples=[sample(r, f"{b.name} while {a.name} is throttled") for r in (refused or responses)[:2]])
    if refused:
        evidence.curl = curl(refused[0])
        return PER_USER.failed(f"{b.name} is throttled ({len(refused)} of {len(responses)}) because {a.name} used "
                               "the limit (one shared bucket)", location=op.key, evidence=evidence)
    return PER_USER.passed(f"{b.name} unaffected ({', '.join(map(str, statuses))})", location=op.key,
                           evidence=evidence)


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
