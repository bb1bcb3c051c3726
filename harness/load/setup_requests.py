"""Setup requests of a load worker (logins, captured values): unmeasured, retried while the system says "later".

Plain ``urllib`` (gevent-patched in the worker): these requests are not part of the measured load.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


class SetupError(RuntimeError):
    """A login or setup request the run cannot start without was refused."""


SETUP_RETRY_STATUSES = {429, 502, 503, 504}  # "try again later": a system still warming up
SETUP_ATTEMPTS = 5
SETUP_RETRY_CAP_S = 3.0


def open_json(request: urllib.request.Request, timeout: float, attempts: int = SETUP_ATTEMPTS) -> Any:
    """One unmeasured setup request; retried (bounded) while the system says "later", honouring Retry-After."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback/allowlisted
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code not in SETUP_RETRY_STATUSES or attempt == attempts:
                raise SetupError(f"{request.get_method()} {request.full_url} answered {exc.code} "
                                 f"{exc.reason} (attempt {attempt} of {attempts}): "
                                 f"{exc.read()[:200].decode(errors='replace')}") from None
            try:
                wait = float(exc.headers.get("Retry-After") or attempt * 0.5)
            except ValueError:
                wait = attempt * 0.5
            time.sleep(min(max(wait, 0.1), SETUP_RETRY_CAP_S))
    raise AssertionError("unreachable")


def post_json(url: str, body: dict[str, Any], timeout: float, attempts: int) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return open_json(request, timeout, attempts)
