"""The undo log: every fault is written down (fsync) before it is applied, and undone after.

A run that is killed mid-experiment must not leave a paused process, a degraded link, a cgroup
limit or an orphan process behind. Each fault appends an ``apply`` line to
``<state_dir>/undo.jsonl`` before it happens (a started process right after fork, since its pid
does not exist earlier) and a ``done`` line once it is rolled back. ``UndoLog.undo_pending()``
rolls back whatever has no ``done`` line, newest first; every platform start calls it.

What a line's ``kind`` means and how it is undone comes from an ``UndoKinds`` registry the
platform passes in (``harness.faults.host.host_undo_kinds()`` plus its own): recording an
unknown kind is refused *before* the fault is applied, so nothing is ever applied that no code
could undo. An entry whose kind the reading process does not know (a platform that is not
installed here) stays pending and is reported, never dropped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harness.registry import Registry

log = logging.getLogger(__name__)

UNDO_FILE = "undo.jsonl"


@dataclass(frozen=True)
class UndoKind:
    """One kind of undo-log entry: how to roll it back, and when relative to the others."""

    name: str
    undo: Callable[[dict[str, Any]], bool]  # True when it changed something (False: already gone)
    order: int  # lower first: faults before the processes they hurt are stopped
    is_fault: bool = True  # False for things a platform *started* (processes): healing a running system keeps them


class UndoKinds(Registry[UndoKind]):
    """The kinds one undo log may hold."""

    def __init__(self, kinds: list[UndoKind] | None = None) -> None:
        super().__init__("undo kind", [(kind.name, kind) for kind in kinds or []])

    def add(self, kind: UndoKind) -> UndoKind:
        return self.register(kind.name, kind)

    def merged(self, other: UndoKinds) -> UndoKinds:
        return UndoKinds([*self.values(), *other.values()])

    def fault_names(self) -> frozenset[str]:
        return frozenset(kind.name for kind in self.values() if kind.is_fault)


class UndoEntry(BaseModel):
    id: str
    kind: str
    description: str
    data: dict[str, Any] = Field(default_factory=dict)
    at: float


class UndoLog:
    """Append-only JSON lines; each line is ``{"op": "apply"|"update"|"done", ...}``."""

    def __init__(self, state_dir: Path, kinds: UndoKinds) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / UNDO_FILE
        self.kinds = kinds

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
        """Write down a fault about to be applied; returns its id (for ``update``/``done``).

        Raises ``KeyError`` for a kind this log cannot undo: the caller must not apply the fault.
        """
        self.kinds[kind]  # noqa: B018 - refuse, before anything is applied, what nothing could undo
        entry = UndoEntry(id=uuid.uuid4().hex[:12], kind=kind, description=description, data=data, at=time.time())
        self._append({"op": "apply", **entry.model_dump()})
        return entry.id

    def update(self, entry_id: str, **data: Any) -> None:
        """Add facts learned after applying (e.g. a new process's pid and start time)."""
        self._append({"op": "update", "id": entry_id, "data": data})

    def done(self, entry_id: str) -> None:
        self._append({"op": "done", "id": entry_id})

    def pending(self) -> list[UndoEntry]:
        """Applied and not yet undone, oldest first."""
        if not self.path.exists():
            return []
        entries: dict[str, UndoEntry] = {}
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash: the fault it describes was never applied
            op = line.pop("op", None)
            if op == "apply":
                entries[line["id"]] = UndoEntry.model_validate(line)
            elif op == "update" and line["id"] in entries:
                entries[line["id"]].data.update(line["data"])
            elif op == "done":
                entries.pop(line["id"], None)
        return list(entries.values())

    def compact(self) -> None:
        """Rewrite the log with only the pending entries (drops history of finished faults)."""
        if not self.path.exists():
            return
        pending = self.pending()
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for entry in pending:
                fh.write(json.dumps({"op": "apply", **entry.model_dump()}, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def undo_pending(self, *, faults_only: bool = False) -> list[str]:
        """Roll back everything a previous (killed) run left applied; returns what was actually undone.

        Faults are undone before processes (by each kind's ``order``, newest first within one), so a
        paused process is resumed and its link cleared before it is terminated. A rollback that fails
        stays pending for the next call and is reported as ``"FAILED ..."``; so does an entry of a kind
        this log does not know. ``faults_only`` heals a running system without stopping what it started.
        """
        pending = self.pending()
        known = [e for e in pending if e.kind in self.kinds]
        done = [f"FAILED {e.kind}: {e.description}: no undo for this kind here (known: {', '.join(sorted(self.kinds))}); "
                f"run the platform that recorded it" for e in pending if e.kind not in self.kinds]
        if faults_only:
            known = [e for e in known if self.kinds[e.kind].is_fault]
        for entry in sorted(reversed(known), key=lambda e: self.kinds[e.kind].order):
            try:
                acted = self.kinds[entry.kind].undo(entry.data)
            except Exception as exc:  # keep going: one stuck fault must not block the rest
                log.warning("undo of %s failed: %s", entry.description, exc)
                done.append(f"FAILED {entry.kind}: {entry.description}: {exc}")
                continue
            self.done(entry.id)
            if acted:
                done.append(f"{entry.kind}: {entry.description}")
        self.compact()
        return done


def undo_pending(state_dir: Path, kinds: UndoKinds, *, faults_only: bool = False) -> list[str]:
    """``UndoLog(state_dir, kinds).undo_pending(...)``: what a platform calls on start and stop."""
    return UndoLog(state_dir, kinds).undo_pending(faults_only=faults_only)
