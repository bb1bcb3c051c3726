"""Webhook notifications: an event handler that POSTs a run's milestones as JSON to the URLs it is given.

Game days announce themselves to the people watching (chat bots, incident tools, a status page):
``started``, ``fault_injected``, ``fault_healed``, ``guardrail_fired``, ``aborted``, ``finished`` (with
the verdict). Each body names the event, the run id, the event's time (``at``), when it was sent
(``sent_at``) and a per-run ``sequence`` number, so a receiver can order and de-duplicate them.

Posting happens on one sender thread, in event order: a slow or dead receiver never delays the run
(an abort included). Each POST is bounded by ``timeout_s`` and tried twice; ``shutdown`` waits for
the queue at most ``drain_s``. URLs are checked against the allowlist (loopback by default) when the
notifier is made, before anything starts. What was delivered is written to ``webhooks.json`` in the
run folder.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from harness.events import (
    Event,
    EventHandler,
    FaultHealed,
    FaultInjected,
    GameDayStarted,
    GuardrailFired,
    Interrupted,
    RunFinished,
)
from harness.safety import ensure_allowed

log = logging.getLogger(__name__)

PUBLIC_NAMES: dict[type[Event], str] = {
    GameDayStarted: "started", FaultInjected: "fault_injected", FaultHealed: "fault_healed",
    GuardrailFired: "guardrail_fired", Interrupted: "aborted", RunFinished: "finished",
}
DELIVERY_LOG = "webhooks.json"


def payload(event: Event, run_id: str, sequence: int) -> dict[str, Any] | None:
    """The JSON body for one event (None: not announced)."""
    name = PUBLIC_NAMES.get(type(event))
    if name is None:
        return None
    body: dict[str, Any] = {"event": name, "run_id": run_id, "sequence": sequence}
    if isinstance(event, RunFinished):
        run = event.run
        body.update(at=event.at.isoformat(), verdict=run.verdict.value, exit_code=run.exit_code,
                    aborted_reason=run.aborted_reason, error=run.error)
        if run.gameday is not None:
            body.update(gameday=run.gameday.title, hypothesis_verdict=run.gameday.hypothesis_verdict,
                        verdict_reason=run.gameday.verdict_reason, stopped_at=run.gameday.stopped_at)
        return body
    details = event.model_dump(mode="json", exclude={"kind"})
    if isinstance(event, (FaultInjected, FaultHealed)):
        details.update(details.pop("injection"))
    body.update(details)
    return body


class WebhookNotifier(EventHandler):
    name = "webhook"

    def __init__(self, urls: Iterable[str], *, allow_hosts: Iterable[str] = (), events: Iterable[str] | None = None,
                 timeout_s: float = 2.0, drain_s: float = 10.0) -> None:
        self.urls = list(urls)
        for url in self.urls:
            ensure_allowed(url, list(allow_hosts))
        self.events = set(events) if events is not None else set(PUBLIC_NAMES.values())
        self.timeout_s = timeout_s
        self.drain_s = drain_s
        self.run_id = ""
        self.deliveries: list[dict[str, Any]] = []
        self._folder: Path | None = None
        self._sequence = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, name="webhook-sender", daemon=True)

    def start(self, run_dir: Path) -> None:
        self._folder = run_dir
        self.run_id = run_dir.name
        if self.urls:
            self._thread.start()

    def handle(self, event: Event) -> None:
        if isinstance(event, GameDayStarted):
            self.run_id = event.run_id
        if not self.urls:
            return
        body = payload(event, self.run_id, self._sequence + 1)
        if body is None or body["event"] not in self.events:
            return
        self._sequence += 1
        self._queue.put(body)

    def shutdown(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=self.drain_s)
            if self._thread.is_alive():
                log.warning("webhooks: %d event(s) not delivered within %.0f s", self._queue.qsize(), self.drain_s)
        if self._folder is not None and self.urls:
            (self._folder / DELIVERY_LOG).write_text(json.dumps(self.deliveries, indent=1))

    # -- the sender thread ------------------------------------------------------------
    def _send_all(self) -> None:
        with httpx.Client(timeout=self.timeout_s, trust_env=False, follow_redirects=False) as client:
            while (body := self._queue.get()) is not None:
                for url in self.urls:
                    self.deliveries.append(self._post(client, url, body))

    def _post(self, client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
        outcome: dict[str, Any] = {"url": url, "event": body["event"], "sequence": body["sequence"]}
        for attempt in (1, 2):
            sent = {**body, "sent_at": datetime.now(UTC).isoformat()}
            started = time.monotonic()
            try:
                response = client.post(url, json=sent)
                outcome.update(status=response.status_code, attempt=attempt,
                               elapsed_ms=round((time.monotonic() - started) * 1000, 1))
                if response.status_code < 500:
                    return outcome
            except httpx.HTTPError as exc:
                outcome.update(status=None, error=f"{type(exc).__name__}: {exc}"[:200], attempt=attempt)
        log.warning("webhook %s: %s not delivered (%s)", url, body["event"], outcome.get("error") or outcome.get("status"))
        return outcome
