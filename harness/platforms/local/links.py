"""Client side of the edge control API: ``LinkControl`` is what ``platform.link(name)`` returns."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from harness.errors import PlatformError
from harness.faults.undo import UndoLog
from harness.platforms.local.proxy import LinkFaults, LinkStats


class LinkControl:
    """Faults on one link, applied at runtime through the edge process that carries it.

    Every non-clean ``set`` is written to the undo log before it is sent; ``clear`` marks it undone.
    """

    def __init__(self, name: str, control_url: str, undo: UndoLog, active_undo: dict[str, str]) -> None:
        self.name = name
        self.control_url = control_url
        self._undo = undo
        self._active_undo = active_undo  # link name -> undo id, shared with the platform

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = httpx.request(method, f"{self.control_url}{path}", timeout=5.0, trust_env=False, verify=False,
                                     **kwargs)
        except httpx.HTTPError as exc:
            raise PlatformError(f"link {self.name}: edge control API at {self.control_url} unreachable ({exc}); "
                                "is the platform running? (`harness status`)") from None
        if response.status_code >= 400:
            raise PlatformError(f"link {self.name}: edge answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def describe(self) -> dict[str, Any]:
        return self._call("GET", "/links")[self.name]

    def faults(self) -> LinkFaults:
        return LinkFaults.model_validate(self.describe()["faults"])

    def stats(self) -> LinkStats:
        return LinkStats.model_validate(self.describe()["stats"])

    def set(self, faults: LinkFaults | None = None, **fields: Any) -> LinkFaults:
        """Replace the link's faults: ``set(latency_ms=200, jitter_ms=20)`` or ``set(LinkFaults(...))``."""
        new = faults if faults is not None else LinkFaults(**fields)
        if new.is_clean:
            self.clear()
            return new
        if self.name not in self._active_undo:
            self._active_undo[self.name] = self._undo.record(
                "proxy_fault", f"faults on link {self.name}", control_url=self.control_url, link=self.name)
        self._call("PUT", f"/links/{self.name}/faults", json=new.model_dump())
        return new

    def update(self, **fields: Any) -> LinkFaults:
        """Add to the current faults (``update(blackhole=True)`` keeps an existing latency)."""
        return self.set(self.faults().model_copy(update=fields))

    def clear(self) -> None:
        self._call("DELETE", f"/links/{self.name}/faults")
        undo_id = self._active_undo.pop(self.name, None)
        if undo_id:
            self._undo.done(undo_id)

    # -- shortcuts, one per fault kind -------------------------------------------------------
    def latency(self, ms: float, *, jitter_ms: float = 0.0,
                mode: Literal["per_chunk", "per_connection"] = "per_chunk") -> LinkFaults:
        return self.update(latency_ms=ms, jitter_ms=jitter_ms, latency_mode=mode)

    def bandwidth(self, bytes_per_s: int) -> LinkFaults:
        return self.update(bandwidth_bps=bytes_per_s)

    def reset(self) -> LinkFaults:
        return self.update(reset=True)

    def blackhole(self) -> LinkFaults:
        return self.update(blackhole=True)

    def refuse(self) -> LinkFaults:
        return self.update(refuse=True)

    def slow_close(self, ms: float) -> LinkFaults:
        return self.update(slow_close_ms=ms)

    def __repr__(self) -> str:
        return f"LinkControl({self.name!r}, {self.control_url!r})"
