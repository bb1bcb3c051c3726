"""The rate-limit probe's pure judgements: what RateLimit headers advertise, whether that contradicts what the
limiter did, and the most requests admitted in any rolling window."""

from __future__ import annotations

import re

import httpx


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


def max_in_rolling_window(times: list[float], window_s: float) -> int:
    """The most timestamps inside any half-open window [t, t + window_s)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best
