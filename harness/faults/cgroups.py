"""CPU and memory limits for component processes through Linux cgroups (v2 or v1).

No maintained Python library manages cgroups without systemd, so this is hand-written and small:
a limit is a new child cgroup *under the harness's own cgroup* (so limits nest inside whatever
confines the harness itself), the component's processes are moved into it, and removing the
limit moves them back to the parent and deletes the child.

* cgroup v2: needs ``cpu`` and ``memory`` in the unified hierarchy's ``cgroup.controllers``
  (writes ``cpu.max`` and ``memory.max``).
* cgroup v1 (or hybrid): needs writable ``cpu`` and ``memory`` hierarchies (writes
  ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` and ``memory.limit_in_bytes``).

When neither is usable, ``CgroupUnavailable`` (a ``NotImplementedError``) says why.

Two steps so the undo log can record a limit before it exists: ``plan_limit`` picks the cgroup
paths (nothing is touched), ``apply_limit`` creates them and moves the processes;
``remove_limit`` is idempotent and safe on a plan that was never applied.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


class CgroupUnavailable(NotImplementedError):
    """Resource limits cannot be applied on this machine (the message says why)."""


@dataclass(frozen=True)
class CgroupLimit:
    """Where one applied limit lives: the created cgroup dirs and their parents (to move back to)."""

    dirs: tuple[str, ...]
    parents: tuple[str, ...]


def _own_cgroup_paths() -> dict[str, str]:
    """controller name ('' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers:
            out[""] = path
        for name in controllers.split(","):
            if name:
                out[name] = path
    return out


def _v2_base() -> Path | None:
    """The v2 directory we may create children in, when cpu+memory are delegated there."""
    own = _own_cgroup_paths()
    if "" not in own:
        return None
    mount = CGROUP_ROOT if (CGROUP_ROOT / "cgroup.controllers").exists() else CGROUP_ROOT / "unified"
    base = mount / own[""].lstrip("/")
    controllers_file = base / "cgroup.controllers"
    if not controllers_file.exists():
        return None
    available = set(controllers_file.read_text().split())
    return base if {"cpu", "memory"} <= available and os.access(base, os.W_OK) else None


def _v1_bases() -> dict[str, Path] | None:
    own = _own_cgroup_paths()
    bases: dict[str, Path] = {}
    for controller in ("cpu", "memory"):
        if controller not in own:
            return None
        base = CGROUP_ROOT / controller / own[controller].lstrip("/")
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            return None
        bases[controller] = base
    return bases


def availability() -> str | None:
    """None when limits can be applied here, else the reason they cannot."""
    if not CGROUP_ROOT.is_dir():
        return f"{CGROUP_ROOT} is not mounted"
    try:
        if _v2_base() is not None or _v1_bases() is not None:
            return None
    except OSError as exc:
        return f"cannot read cgroup hierarchy: {exc}"
    return (f"no writable cgroup with cpu and memory controllers under {CGROUP_ROOT} "
            "(run as root, or delegate cpu+memory to the harness's cgroup)")


def hierarchy() -> str:
    """Which hierarchy limits go into: 'v2' or 'v1' (call only when ``availability()`` is None)."""
    return "v2" if _v2_base() is not None else "v1"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _move(pids: Iterable[int], cgroup_dir: Path) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, OSError):  # a process may exit meanwhile
            _write(cgroup_dir / "cgroup.procs", str(pid))


def _validate(cpu_percent: float | None, memory_mb: int | None) -> None:
    if cpu_percent is None and memory_mb is None:
        raise ValueError("give cpu_percent and/or memory_mb")
    max_cpu = 100 * (os.cpu_count() or 1)
    if cpu_percent is not None and not 1 <= cpu_percent <= max_cpu:
        raise ValueError(f"cpu_percent must be between 1 and {max_cpu} (100 = one full core)")
    if memory_mb is not None and memory_mb < 4:
        raise ValueError("memory_mb must be at least 4")


def plan_limit(name: str, *, cpu_percent: float | None = None, memory_mb: int | None = None) -> CgroupLimit:
    """Decide where a limit will live, without touching anything (so it can be logged first).

    Raises ``CgroupUnavailable`` (with the reason) when limits cannot be applied here.
    """
    _validate(cpu_percent, memory_mb)
    reason = availability()
    if reason:
        raise CgroupUnavailable(f"cannot limit {name}: {reason}")
    leaf = f"harness-{name}-{secrets.token_hex(3)}"
    v2 = _v2_base()
    if v2 is not None:
        return CgroupLimit(dirs=(str(v2 / leaf),), parents=(str(v2),))
    bases = _v1_bases()
    assert bases is not None
    wanted = [c for c, v in (("cpu", cpu_percent), ("memory", memory_mb)) if v is not None]
    return CgroupLimit(dirs=tuple(str(bases[c] / leaf) for c in wanted),
                       parents=tuple(str(bases[c]) for c in wanted))


def apply_limit(limit: CgroupLimit, pids: list[int], *, cpu_percent: float | None = None,
                memory_mb: int | None = None) -> None:
    """Create the planned cgroups, set the limits, move ``pids`` into them."""
    _validate(cpu_percent, memory_mb)
    quota = int(CPU_PERIOD_US * cpu_percent / 100) if cpu_percent is not None else None
    memory_bytes = str(memory_mb * 1024 * 1024) if memory_mb is not None else None
    for cgroup_dir in map(Path, limit.dirs):
        cgroup_dir.mkdir()
        if (cgroup_dir / "cpu.max").exists() or (cgroup_dir / "memory.max").exists():  # v2
            if quota is not None:
                _write(cgroup_dir / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            if memory_bytes is not None:
                _write(cgroup_dir / "memory.max", memory_bytes)
                with contextlib.suppress(OSError):
                    _write(cgroup_dir / "memory.swap.max", "0")
        elif (cgroup_dir / "cpu.cfs_quota_us").exists():  # v1 cpu
            _write(cgroup_dir / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(cgroup_dir / "cpu.cfs_quota_us", str(quota))
        elif (cgroup_dir / "memory.limit_in_bytes").exists():  # v1 memory
            _write(cgroup_dir / "memory.limit_in_bytes", str(memory_bytes))
            with contextlib.suppress(OSError):  # only exists with swap accounting: no swapping out of it
                _write(cgroup_dir / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _move(pids, cgroup_dir)


def remove_limit(limit: CgroupLimit) -> None:
    """Move every process back to its parent cgroup and delete the limit's cgroups (idempotent)."""
    for cgroup_dir, parent in zip(limit.dirs, limit.parents, strict=True):
        cgroup = Path(cgroup_dir)
        if not cgroup.exists():
            continue
        procs = cgroup / "cgroup.procs"
        with contextlib.suppress(OSError):
            _move([int(p) for p in procs.read_text().split()], Path(parent))
        with contextlib.suppress(OSError):
            cgroup.rmdir()
        if cgroup.exists():
            raise OSError(f"could not remove cgroup {cgroup}: processes still inside ({procs.read_text().split()})")


def cgroup_of(pid: int) -> list[str]:
    """The cgroup lines of a process (for assertions and debugging)."""
    return Path(f"/proc/{pid}/cgroup").read_text().splitlines()
