"""The probes' HTTP client: allowlisted, bounded in requests and time, and able to turn an exchange into evidence."""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterable
from typing import Any

import httpx

from harness.errors import HarnessError
from harness.model import Sample, redact
from harness.safety import ensure_allowed

EXCERPT_CHARS = 600


class BudgetExceeded(HarnessError):
    """A probe run tried to send more requests than its budget allows (a bug or a runaway loop)."""


class ProbeClient:
    """An ``httpx.Client`` that only talks to allowed hosts (every request's) and stops after ``max_requests``."""

    def __init__(self, base_url: str, *, allow_hosts: Iterable[str] = (), max_requests: int = 3000,
                 timeout_s: float = 10.0, max_retry_after_s: float = 5.0, max_total_wait_s: float = 60.0) -> None:
        self.allow_hosts = list(allow_hosts)
        ensure_allowed(base_url, self.allow_hosts)  # before any request is sent
        self.base_url = base_url.rstrip("/")
        self.max_requests = max_requests
        self.sent = 0
        self.max_retry_after_s = max_retry_after_s  # honour a 429's Retry-After up to this long ...
        self.max_total_wait_s = max_total_wait_s  # ... and this long in total, then give the 429 to the probe
        self.waited_s = 0.0
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, follow_redirects=False)

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                cookies: dict[str, str] | None = None, retry_429: bool = True, **kwargs: Any) -> httpx.Response:
        """Send once; on 429 (when ``retry_429``) wait out a short Retry-After and send again (at most 3 times).

        Probes must judge the target, not the throttling their own traffic causes; the rate-limit
        probe passes ``retry_429=False`` because the 429 is what it measures.
        """
        for _ in range(3):
            response = self._send(method, url, headers, cookies, **kwargs)
            wait = _retry_after_s(response) if retry_429 and response.status_code == 429 else None
            if wait is None or wait > self.max_retry_after_s or self.waited_s + wait > self.max_total_wait_s:
                return response
            time.sleep(wait + 0.1)
            self.waited_s += wait + 0.1
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
        response = self._http.send(request)
        response.extensions["elapsed_s"] = time.perf_counter() - started
        self._http.cookies.clear()
        return response

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


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date Retry-After is not worth waiting for inside a probe


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
