"""Chaos Toolkit probes of the harness extension (``provider: {type: python, module: harness.chaos.probes}``).

Steady state is the SLO over the background load (``slo_holds``); the others read the
system's own signals: breaker state from each replica's ``/metrics``, readiness, and a
read-back of every acknowledged write. Each probe has a hard timeout and leaves what it
measured in ``session.observations`` for the report.
"""

import time

import httpx

from harness.chaos.bounded import bounded
from harness.chaos.observe import BREAKER_STATE, STATE_NAMES, scrape
from harness.chaos.session import current_session
from harness.chaos.slo import judge, time_to_recover

__all__ = [
    "acknowledged_writes_readable",
    "breaker_states",
    "gateway_readiness",
    "slo_holds",
    "wait_for_breaker",
    "wait_until_slo_recovers",
]


@bounded(30)
def slo_holds(window_s: float = 3.0) -> bool:
    """True when the last ``window_s`` seconds of background load meet the experiment's SLO.

    Waits (up to ``window_s`` + 5 s) for that many seconds to be published, so the window
    really lies after whatever happened before the probe.
    """
    session = current_session()
    session.require_load("slo_holds")
    slo = session.extension.slo
    asked_at = session.load_time()
    deadline = time.monotonic() + window_s + 5
    while time.monotonic() < deadline:
        rows = [row for row in session.rows() if row.label == "all"]
        if rows and rows[-1].t + 1 >= asked_at + window_s:
            break
        time.sleep(0.25)
    rows = session.rows()
    last = max((row.t for row in rows if row.label == "all"), default=0.0) + 1
    start = max(last - window_s, 0.0)
    window = judge("probe", rows, slo, session.degraded_between(start, last), start, last)
    session.observe("slo_holds", window.model_dump())
    return window.ok and not window.inconclusive


@bounded(10)
def breaker_states(tier: str = "gpu") -> dict:
    """{replica: state} of ``tier``'s breaker, scraped from each gateway replica ("unreachable" if down)."""
    session = current_session()
    states = {}
    for replica, url in session.replica_urls().items():
        try:
            values = scrape(f"{url}/metrics")
            value = values.get((BREAKER_STATE, (("tier", tier),)))
            states[replica] = STATE_NAMES.get(int(value), "?") if value is not None else "absent"
        except httpx.HTTPError:
            states[replica] = "unreachable"
    session.observe("breaker_states", {"tier": tier, "states": states})
    return states


@bounded(120)
def wait_for_breaker(tier: str = "gpu", state: str = "closed", timeout_s: float = 30.0) -> bool:
    """Poll until every reachable replica's ``tier`` breaker is in ``state``; False on timeout."""
    session = current_session()
    deadline = time.monotonic() + min(timeout_s, 110)
    states: dict = {}
    while time.monotonic() < deadline:
        states = breaker_states.__wrapped__(tier)  # type: ignore[attr-defined]
        reachable = [s for s in states.values() if s != "unreachable"]
        if reachable and all(s == state for s in reachable):
            session.observe("wait_for_breaker", {"tier": tier, "state": state, "reached": True, "states": states})
            return True
        time.sleep(0.25)
    session.observe("wait_for_breaker", {"tier": tier, "state": state, "reached": False, "states": states})
    return False


@bounded(10)
def gateway_readiness() -> dict:
    """{replica: {"status": code, "failing": [...]}} from each replica's ``/readyz``."""
    session = current_session()
    out = {}
    for replica, url in session.replica_urls().items():
        try:
            response = httpx.get(f"{url}/readyz", timeout=2.0, trust_env=False, verify=False)
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            out[replica] = {"status": response.status_code, "failing": body.get("failing", [])}
        except httpx.HTTPError as exc:
            out[replica] = {"status": None, "failing": [type(exc).__name__]}
    session.observe("gateway_readiness", {"replicas": out})
    return out


@bounded(120)
def wait_until_slo_recovers(timeout_s: float = 30.0) -> float:
    """Seconds from the last rolled-back fault until the SLO held ``settle_s`` seconds in a row; -1 on timeout."""
    session = current_session()
    session.require_load("wait_until_slo_recovers")
    fault_end = session.fault_end_s()
    deadline = time.monotonic() + min(timeout_s, 110)
    while time.monotonic() < deadline:
        ttr = time_to_recover(session.rows(), session.degraded_at, session.extension.slo, fault_end,
                              session.extension.settle_s)
        if ttr is not None:
            session.observe("recovered", {"ttr_s": ttr})
            return ttr
        time.sleep(0.5)
    session.observe("recovered", {"ttr_s": None})
    return -1.0


@bounded(90)
def acknowledged_writes_readable() -> bool:
    """Read back every write the API acknowledged so far; True when none is missing."""
    session = current_session()
    if session.writes is None:
        return True
    result = session.writes.read_back()
    session.observe("read_back", {"acknowledged": result.acknowledged, "found": result.found,
                                  "missing": result.missing[:20], "lost": result.lost,
                                  "unreadable": result.unreadable[:20]})
    return result.lost == 0 and not result.unreadable
