"""Daemon threads that poll the gateway replicas until stopped: the base of the metrics sampler and system signals."""

from __future__ import annotations

import threading
from typing import Any

from harness.safety import ensure_allowed


class Pollers:
    """Holds the replicas (checked against the allowlist), one stop event and the polling threads."""

    def __init__(self, replicas: dict[str, str], allow_hosts: tuple[str, ...] = ()) -> None:
        for url in replicas.values():
            ensure_allowed(url, allow_hosts)
        self.replicas = dict(replicas)  # name -> base URL (http://127.0.0.1:port)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _thread(self, target: Any, name: str, *args: Any) -> None:
        self._threads.append(threading.Thread(target=target, args=args, name=name, daemon=True))

    def start(self) -> Any:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop polling; each join is bounded (a poll in flight ends with its own timeout). ``wait=False``
        returns at once: an abort must not wait for a poll in flight (the threads are daemons)."""
        self._stop.set()
        for thread in self._threads if wait else []:
            if thread.is_alive():
                thread.join(timeout=5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
