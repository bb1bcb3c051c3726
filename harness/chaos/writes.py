"""Acknowledged writes during an experiment, and reading every one of them back afterwards.

A small writer thread creates analyses at a low fixed rate through the balancer (as the
target's test identities) and remembers each id the API acknowledged with 201. After the
fault is rolled back, ``read_back()`` fetches every acknowledged id: a missing one is data
lost although the client was told it was stored.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import httpx

from harness.login import LoginFailed, login
from harness.platforms.base import Identity, Target
from harness.safety import ensure_allowed


@dataclass
class WriteAttempt:
    at: float
    status: int | None  # None: no answer (connection error / timeout)
    analysis_id: str | None = None
    identity: str = ""
    error: str = ""
    answered_at: float = 0.0  # wall clock when the answer (or the error) came back


@dataclass
class ReadBack:
    acknowledged: int
    found: int
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # read-back itself failed (not proven lost)

    @property
    def lost(self) -> int:
        return len(self.missing)


class _Sessions:
    """One bearer token per identity, logged in lazily, renewed on 401."""

    def __init__(self, client: httpx.Client, target: Target) -> None:
        self._client = client
        self._target = target
        self._tokens: dict[str, dict[str, str]] = {}

    def headers(self, identity: Identity, *, renew: bool = False) -> dict[str, str]:
        if renew or identity.name not in self._tokens:
            try:
                credential = login(self._client.request, self._target.login, identity)
            except LoginFailed as exc:
                raise httpx.HTTPError(str(exc)) from None
            self._tokens[identity.name] = credential.request_headers()
        return self._tokens[identity.name]


class WriteTracker:
    """Writes at ``rate_per_s`` (at most ``max_writes``) until stopped; thread-safe results."""

    def __init__(self, target: Target, *, identities: list[str], rate_per_s: float = 1.0, max_writes: int = 500,
                 timeout_s: float = 5.0, allow_hosts: tuple[str, ...] = ()) -> None:
        ensure_allowed(target.base_url, allow_hosts)
        missing = [name for name in identities if name not in target.identities]
        if missing:
            raise ValueError(f"target has no identities {missing}; it has {sorted(target.identities)}")
        self.target = target
        self.identities = [target.identities[name] for name in identities]
        self.interval_s = 1.0 / rate_per_s
        self.max_writes = max_writes
        self.timeout_s = timeout_s
        self.attempts: list[WriteAttempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaos-write-tracker", daemon=True)

    def start(self) -> WriteTracker:
        self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """No new write after this; ``wait`` for the one in flight (bounded by its timeout)."""
        self._stop.set()
        if wait and self._thread.is_alive():
            self._thread.join(timeout=self.timeout_s + 2)

    def acknowledged(self) -> list[WriteAttempt]:
        with self._lock:
            return [a for a in self.attempts if a.status == 201 and a.analysis_id]

    def attempts_between(self, start: float, end: float) -> list[WriteAttempt]:
        """Writes sent and answered inside [start, end] (wall clock), whatever their answer.

        A write sent just before ``end`` but served after it saw the system already recovering,
        so it says nothing about behaviour during the window and is left out.
        """
        with self._lock:
            return [a for a in self.attempts if start <= a.at and a.answered_at <= end]

    def _loop(self) -> None:
        with httpx.Client(base_url=self.target.base_url, timeout=self.timeout_s, trust_env=False) as client:
            sessions = _Sessions(client, self.target)
            if not self.identities:  # a target without the refsys' writers: nothing to track
                return
            rotation = itertools.cycle(self.identities)
            next_at = time.monotonic()
            for seq in range(self.max_writes):
                if self._stop.wait(max(next_at - time.monotonic(), 0.0)):
                    return
                next_at += self.interval_s
                identity = next(rotation)
                attempt = self._write(client, sessions, identity, seq)
                with self._lock:
                    self.attempts.append(attempt)

    def _write(self, client: httpx.Client, sessions: _Sessions, identity: Identity, seq: int) -> WriteAttempt:
        at = time.time()
        body = {"text": f"chaos write {seq}: the service kept its promise"}
        try:
            response = client.post("/analyses", json=body, headers=sessions.headers(identity))
            if response.status_code == 401:
                response = client.post("/analyses", json=body, headers=sessions.headers(identity, renew=True))
        except httpx.HTTPError as exc:
            return WriteAttempt(at, None, identity=identity.name, error=f"{type(exc).__name__}: {exc}"[:200],
                                answered_at=time.time())
        analysis_id = response.json().get("id") if response.status_code == 201 else None
        return WriteAttempt(at, response.status_code, analysis_id, identity.name,
                            "" if response.status_code == 201 else response.text[:200], answered_at=time.time())

    def read_back(self, *, attempts: int = 3) -> ReadBack:
        """GET every acknowledged id as its writer; 404 means lost, other failures are retried."""
        written = self.acknowledged()
        result = ReadBack(acknowledged=len(written), found=0)
        by_name = {identity.name: identity for identity in self.identities}
        with httpx.Client(base_url=self.target.base_url, timeout=self.timeout_s, trust_env=False) as client:
            sessions = _Sessions(client, self.target)
            for write in written:
                status = self._read(client, sessions, by_name[write.identity], write.analysis_id or "", attempts)
                if status == 200:
                    result.found += 1
                elif status == 404:
                    result.missing.append(write.analysis_id or "")
                else:
                    result.unreadable.append(f"{write.analysis_id}: {status}")
        return result

    @staticmethod
    def _read(client: httpx.Client, sessions: _Sessions, identity: Identity, analysis_id: str, attempts: int) -> object:
        last: object = None
        for attempt in range(attempts):
            try:
                response = client.get(f"/analyses/{analysis_id}", headers=sessions.headers(identity, renew=attempt > 0))
                last = response.status_code
                if response.status_code in (200, 404):
                    return response.status_code
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        return last
