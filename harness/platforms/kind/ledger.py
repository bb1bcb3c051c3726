"""Undo journal of the kind platform's cluster-level changes, on the shared undo log (``harness.faults.undo``).

Written (fsync) before a change, marked done after its undo; the next ``harness up`` or ``harness down``
undoes what a killed run left behind, faults first and the daemon last. Kinds (registered explicitly,
``kind_undo_kinds()``), each undone by the module that makes the change:

* ``gpu_health``     {node, kubeconfig}       devices the fake GPU plugin reports unhealthy: healed (faults.py)
* ``namespace``      {name, kubeconfig}       a namespace we applied into a cluster we did not create
* ``kind_cluster``   {name, kind_cli}         a cluster we created: ``kind delete cluster`` (cluster.py)
* ``dockerd``        {pid, create_time}       a docker daemon we started: stopped (host.py)
* ``host_dir``       {path}                   a folder we created on the host (/lib/modules): removed if empty

The journal is its own file (``kind-undo.jsonl``) beside the local platform's ``undo.jsonl`` in the
state folder, so neither platform's start reports the other's entries as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.faults.undo import UndoKind, UndoKinds, UndoLog

LEDGER_FILE = "kind-undo.jsonl"
Undoer = Callable[[dict[str, Any]], bool]
# order: faults first, then what lives in the cluster, then the cluster, then the daemon under it
_KINDS: dict[str, tuple[int, bool]] = {"gpu_health": (5, True), "namespace": (40, False), "kind_cluster": (60, False),
                                       "dockerd": (80, False), "host_dir": (90, False)}
_UNDOERS: dict[str, Undoer] = {}


def register_undoer(kind: str, undo: Undoer) -> None:
    """The module that makes a change registers how to undo it (True: it changed something)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown cluster change kind {kind!r}; known: {', '.join(_KINDS)}")
    _UNDOERS[kind] = undo


def _dispatch(kind: str) -> Undoer:
    def undo(data: dict[str, Any]) -> bool:
        if kind not in _UNDOERS:
            raise RuntimeError(f"no undo registered for {kind} (import harness.platforms.kind.platform)")
        return _UNDOERS[kind](data)

    return undo


def kind_undo_kinds(only: frozenset[str] | None = None) -> UndoKinds:
    return UndoKinds([UndoKind(name, _dispatch(name), order=order, is_fault=fault)
                      for name, (order, fault) in _KINDS.items() if only is None or name in only])


class Ledger(UndoLog):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, kind_undo_kinds())
        self.path = self.state_dir / LEDGER_FILE

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Pending entries as dicts (``id``, ``kind``, ``description``, ``data``), oldest first."""
        return [e.model_dump() for e in super().pending() if kind is None or e.kind == kind]

    def undo_kinds(self, kinds: frozenset[str] | None = None) -> list[str]:
        """Undo pending entries of ``kinds`` (all when None); the others stay pending, unreported."""
        if kinds is None:
            return self.undo_pending()
        subset = UndoLog(self.state_dir, kind_undo_kinds(kinds))
        subset.path = self.path
        return [line for line in subset.undo_pending()
                if not (line.startswith("FAILED ") and line.split()[1].rstrip(":") not in kinds)]
