"""The probes' HTTP client: allowlisted, bounded in requests and time, and able to turn an exchange into evidence."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
import shlex
import threading
import time
from collections.abc import Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from harness.errors import HarnessError
from harness.model import Sample, redact
from harness.safety import ensure_allowed

EXCERPT_CHARS = 600


class BudgetExceeded(HarnessError):
    """A probe run tried to send more requests than its budget allows (a bug or a runaway loop)."""


THROTTLED_STATUSES = (429, 503)
MAX_RETRIES = 3


class ThrottleLog:
    """Which answers were throttled (429/503), in order, so an outcome can say whether its evidence was.

    ``Rule.outcome`` reads ``since_last_outcome()`` through ``current_log``: the answers a probe got
    between its previous outcome and this one are the evidence this one rests on.
    """

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self._outcome_mark = 0
        self._lock = threading.Lock()

    def add(self, status: int) -> None:
        with self._lock:
            self.statuses.append(status)

    def since_last_outcome(self) -> tuple[int, int]:
        """(throttled, total) answers since the previous call."""
        with self._lock:
            window = self.statuses[self._outcome_mark:]
            self._outcome_mark = len(self.statuses)
        return sum(s in THROTTLED_STATUSES for s in window), len(window)


_CURRENT: contextvars.ContextVar[ThrottleLog | None] = contextvars.ContextVar("harness_throttle_log", default=None)


def current_log() -> ThrottleLog | None:
    return _CURRENT.get()


class Pacer:
    """Per-credential pacing: wait out Retry-After / RateLimit-Reset (and back off without them) before
    sending again, bounded per wait and in total by the profile's throttle budget.

    A limit is assumed per credential (per identity) until two credentials are refused in the same
    blocked period; then it is treated as shared (per client address or global) and every request waits.
    """

    def __init__(self, max_wait_s: float, max_total_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self.max_total_wait_s = max_total_wait_s
        self.waited_s = 0.0
        self.blocked_until: dict[str, float] = {}
        self.shared = False
        self.gave_up = 0  # throttled answers handed to probes because the budget could not cover the wait
        self._lock = threading.Lock()

    def key(self, headers: dict[str, str]) -> str:
        if self.shared:
            return "*"
        credential = headers.get("Authorization") or headers.get("Cookie") or next(
            (v for k, v in headers.items() if "key" in k.lower() or "token" in k.lower()), "")
        return hashlib.sha256(credential.encode()).hexdigest()[:12] if credential else "anonymous"

    def before(self, key: str) -> None:
        with self._lock:
            until = max(self.blocked_until.get(key, 0.0), self.blocked_until.get("*", 0.0))
        wait = until - time.monotonic()
        if wait > 0 and self._affordable(wait):
            self._sleep(wait)

    def throttled(self, key: str, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before retrying this throttled answer, or None to hand it to the probe."""
        wait = retry_after_s(response)
        if wait is None:
            wait = reset_s(response.headers)
        if wait is None:
            wait = min(2.0 ** attempt, 8.0)  # exponential backoff when the answer does not say
        now = time.monotonic()
        with self._lock:
            others = [k for k, until in self.blocked_until.items() if k not in (key, "*") and until > now]
            if others and not self.shared:
                self.shared = True  # two credentials blocked at once: the limit is per client or global
            self.blocked_until[key] = max(self.blocked_until.get(key, 0.0), now + wait)
            if self.shared:
                self.blocked_until["*"] = self.blocked_until[key]
        if not self._affordable(wait):
            self.gave_up += 1
            return None
        return wait

    def advertised(self, key: str, response: httpx.Response) -> None:
        """RateLimit-Remaining: 0 with a reset: the next request under this key waits for the reset."""
        from harness.security.probes.ratelimit_judges import remaining_budget

        if remaining_budget(response.headers) == 0:
            reset = reset_s(response.headers)
            if reset:
                with self._lock:
                    self.blocked_until[key] = max(self.blocked_until.get(key, 0.0), time.monotonic() + reset)

    def _affordable(self, wait: float) -> bool:
        return wait <= self.max_wait_s and self.waited_s + wait <= self.max_total_wait_s

    def _sleep(self, wait: float) -> None:
        time.sleep(wait + 0.05)
        with self._lock:
            self.waited_s += wait + 0.05


class ProbeClient:
    """An ``httpx.Client`` that only talks to allowed hosts (every request's), stops after ``max_requests``,
    paces itself when the target throttles, and logs which answers were throttled."""

    def __init__(self, base_url: str, *, allow_hosts: Iterable[str] = (), max_requests: int = 3000,
                 timeout_s: float = 10.0, max_retry_after_s: float = 5.0, max_total_wait_s: float = 60.0) -> None:
        self.allow_hosts = list(allow_hosts)
        ensure_allowed(base_url, self.allow_hosts)  # before any request is sent
        self.base_url = base_url.rstrip("/")
        self.max_requests = max_requests
        self.sent = 0
        self.pacer = Pacer(max_retry_after_s, max_total_wait_s)
        self.log = ThrottleLog()
        _CURRENT.set(self.log)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, follow_redirects=False)

    @property
    def waited_s(self) -> float:
        return self.pacer.waited_s

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                cookies: dict[str, str] | None = None, retry_429: bool = True, **kwargs: Any) -> httpx.Response:
        """Send; a throttled answer (429/503) is waited out and sent again (within the budget, at most 3 times).

        Probes must judge the target, not the throttling their own traffic causes; the rate-limit
        probe passes ``retry_429=False`` because the 429 is what it measures. Whatever comes back last
        is logged, so an outcome resting on a throttled answer can be told apart.
        """
        key = self.pacer.key(headers or {})
        for attempt in range(MAX_RETRIES + 1):
            if retry_429:
                self.pacer.before(key)
            response = self._send(method, url, headers, cookies, **kwargs)
            if response.status_code not in THROTTLED_STATUSES:
                self.pacer.advertised(key, response)
                break
            if not retry_429 or attempt == MAX_RETRIES:
                break
            if response.status_code == 503 and "retry-after" not in response.headers:
                break  # a 503 without Retry-After is an answer, not a request to come back later
            if self.pacer.throttled(key, response, attempt) is None:
                break
        self.log.add(response.status_code)
        return response

    def _send(self, method: str, url: str, headers: dict[str, str] | None, cookies: dict[str, str] | None,
              **kwargs: Any) -> httpx.Response:
        if self.sent >= self.max_requests:
            raise BudgetExceeded(f"probe budget of {self.max_requests} requests spent; raise max_requests "
                                 "or narrow the probes (this guards against runaway loops)")
        all_headers = dict(headers or {})
        if cookies:  # explicit Cookie header: the client keeps no cookie jar between probes
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        request = self._http.build_request(method, url, headers=all_headers, **kwargs)
        ensure_allowed(str(request.url), self.allow_hosts)  # an absolute URL may name another host
        self.sent += 1
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.RemoteProtocolError:
            # a kept-alive connection the server closed while idle (waits for Retry-After or a window make
            # that likely): the request never got an answer; send it once more on a fresh connection
            started = time.perf_counter()
            response = self._http.send(request)
        response.extensions["elapsed_s"] = time.perf_counter() - started
        self._http.cookies.clear()
        return response

    @contextlib.contextmanager
    def one_connection(self) -> Iterator[None]:
        """Every request in the block over one kept-alive connection: behind a connection-level balancer they
        all reach the same replica (whose limiter store may be its own), so what they see can be compared."""
        shared = self._http
        self._http = httpx.Client(base_url=self.base_url, timeout=shared.timeout, follow_redirects=False,
                                  limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        try:
            yield
        finally:
            self._http.close()
            self._http = shared

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProbeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def reset_s(headers: httpx.Headers) -> float | None:
    """Seconds until the limit resets, from ``RateLimit-Reset``/``X-RateLimit-Reset`` or ``RateLimit: …t=``."""
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        value = headers.get(name, "").split(",")[0].strip()
        try:
            number = float(value)
        except ValueError:
            continue
        return max(0.0, number - time.time()) if number > 1_000_000_000 else number  # epoch or delta
    match = re.search(r"(?:^|[,;\s])(?:reset|t)\s*=\s*(\d+)", headers.get("ratelimit", ""))
    return float(match.group(1)) if match else None


def describe_request(request: httpx.Request) -> str:
    """``METHOD url`` plus the headers and body a reader needs to see (secrets redacted by ``Sample``)."""
    lines = [f"{request.method} {request.url}"]
    for name, value in request.headers.items():
        if name.lower() in {"host", "accept-encoding", "connection", "user-agent", "accept", "content-length"}:
            continue
        lines.append(f"{name}: {value}")
    body = request.content[:EXCERPT_CHARS].decode("utf-8", "replace") if request.content else ""
    return "\n".join(lines) + (f"\n\n{body}" if body else "")


def sample(response: httpx.Response, note: str = "") -> Sample:
    """One request/response pair as evidence: response headers first, then a body excerpt."""
    head = "\n".join(f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in {"date", "content-length"})
    body = response.text[:EXCERPT_CHARS] if response.content else ""
    prefix = f"[{note}]\n" if note else ""
    elapsed = response.extensions.get("elapsed_s")
    return Sample(request=prefix + describe_request(response.request), status_code=response.status_code,
                  response_excerpt=f"{head}\n\n{body}".strip(),
                  elapsed_ms=round(elapsed * 1000, 1) if elapsed is not None else None)


def curl(response_or_request: httpx.Response | httpx.Request) -> str:
    """A copy-paste ``curl`` that replays the request, with tokens, passwords and cookies redacted.

    Redacted here, not only by ``Evidence``: pydantic validates fields on construction, not on
    the later ``evidence.curl = ...`` assignments probes make.
    """
    request = response_or_request.request if isinstance(response_or_request, httpx.Response) else response_or_request
    parts = ["curl", "-i", "-X", request.method, str(request.url)]
    cookie = None
    for name, value in request.headers.items():
        if name.lower() in {"host", "accept-encoding", "connection", "user-agent", "accept", "content-length"}:
            continue
        if name.lower() == "cookie":
            cookie = value
            continue
        parts += ["-H", f"{name}: {value}"]
    if request.content:
        parts += ["--data-binary", request.content[:4000].decode("utf-8", "replace")]
    if cookie is not None:  # last: evidence redaction masks a Cookie header to the end of the line
        parts += ["-H", f"Cookie: {cookie}"]
    return redact(shlex.join(parts))
