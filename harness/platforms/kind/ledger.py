"""Undo journal of cluster-level changes: written (fsync) before a change, marked done after undo.

Same contract as the local platform's undo log (``harness/undo.py``): an ``apply`` line before the
change, ``update`` lines for facts learned after it (a pid), a ``done`` line once undone. Kinds
are registered explicitly by the module that makes the change (``register_undoer``), so the next
``harness up`` or ``harness down`` can undo what a killed run left behind, newest first:

* ``dockerd``        {pid, create_time}       a docker daemon we started: stopped
* ``kind_cluster``   {name, kind_cli}         a cluster we created: ``kind delete cluster``
* ``namespace``      {name, kubeconfig}       a namespace we applied into a cluster we did not create
* ``gpu_health``     {node, kubeconfig, ...}  devices the fake GPU plugin reports unhealthy: healed
* ``host_dir``       {path}                   a folder we created on the host (e.g. /lib/modules): removed if empty

Kept separate from ``harness/undo.py`` until the shared faults package lands (issue 11); the file
format is the same, so moving the kinds there is a registration change.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LEDGER_FILE = "kind-undo.jsonl"
Undoer = Callable[[dict[str, Any]], bool]
_UNDOERS: dict[str, Undoer] = {}
# faults first, then what lives in the cluster, then the cluster, then the daemon under it
_ORDER = {"gpu_health": 0, "namespace": 1, "kind_cluster": 2, "dockerd": 3, "host_dir": 4}


def register_undoer(kind: str, undo: Undoer) -> None:
    """``undo(data)`` returns True when it changed something (False: already gone)."""
    _UNDOERS[kind] = undo


class Ledger:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LEDGER_FILE

    def _append(self, line: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            prefix = b""
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    prefix = b"\n"  # a crash tore the last line: never glue a new line onto it
            fh.write(prefix + json.dumps(line, sort_keys=True).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def record(self, kind: str, description: str, **data: Any) -> str:
        if kind not in _ORDER:
            raise ValueError(f"unknown cluster change kind {kind!r}; known: {', '.join(_ORDER)}")
        entry_id = uuid.uuid4().hex[:12]
        self._append({"op": "apply", "id": entry_id, "kind": kind, "description": description, "data": data,
                      "at": time.time()})
        return entry_id

    def update(self, entry_id: str, **data: Any) -> None:
        self._append({"op": "update", "id": entry_id, "data": data})

    def done(self, entry_id: str) -> None:
        self._append({"op": "done", "id": entry_id})

    def pending(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Applied and not undone, oldest first (a torn last line is skipped)."""
        if not self.path.exists():
            return []
        entries: dict[str, dict[str, Any]] = {}
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            op = line.pop("op", None)
            if op == "apply":
                entries[line["id"]] = line
            elif op == "update" and line["id"] in entries:
                entries[line["id"]]["data"].update(line["data"])
            elif op == "done":
                entries.pop(line["id"], None)
        return [e for e in entries.values() if kind is None or e["kind"] == kind]

    def undo_pending(self, kinds: frozenset[str] | None = None) -> list[str]:
        """Undo what is pending (faults first, daemon last, newest first within a kind)."""
        done: list[str] = []
        pending = [e for e in self.pending() if kinds is None or e["kind"] in kinds]
        for entry in sorted(reversed(pending), key=lambda e: _ORDER[e["kind"]]):
            undo = _UNDOERS.get(entry["kind"])
            if undo is None:
                done.append(f"FAILED {entry['kind']}: {entry['description']}: no undoer registered")
                continue
            try:
                acted = undo(entry["data"])
            except Exception as exc:  # one stuck change must not block the rest
                log.warning("undo of %s failed: %s", entry["description"], exc)
                done.append(f"FAILED {entry['kind']}: {entry['description']}: {exc}")
                continue
            self.done(entry["id"])
            if acted:
                done.append(f"{entry['kind']}: {entry['description']}")
        self._compact()
        return done

    def _compact(self) -> None:
        pending = self.pending()
        if not self.path.exists():
            return
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for entry in pending:
                fh.write(json.dumps({"op": "apply", **entry}, sort_keys=True) + "\n")
        os.replace(tmp, self.path)
        if not pending:
            self.path.unlink(missing_ok=True)
