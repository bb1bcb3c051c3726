"""Chaos Toolkit actions of the harness extension (``provider: {type: python, module: harness.chaos.actions}``).

Every action finds the platform through ``current_session()``, has a hard timeout
(``bounded``), and notes its injection on the session timeline. The platform writes each
fault to the on-disk undo log before applying it (pause, cgroup limit, link fault), so a
killed run is undone by the next start; actions therefore never log a second time.
Rollback actions close the injection they undo.
"""

import fnmatch

from harness.chaos.bounded import bounded
from harness.chaos.session import current_session
from harness.errors import PlatformError
from harness.platforms.local.proxy import LinkFaults

__all__ = [
    "clear_link_faults",
    "cpu_pressure",
    "dependency_outage",
    "gpu_loss",
    "heal_platform",
    "kill_component",
    "link_fault",
    "memory_pressure",
    "pause_component",
    "release_pressure",
    "restart_component",
    "restore_component",
    "restore_dependency",
    "restore_gpus",
    "resume_component",
]

DEPENDENCY_LINKS = {
    "database": "gateway-*->postgres",
    "cache": "gateway-*->redis",
    "inference-gpu": "gateway-*->inference-gpu",
    "inference-cpu": "gateway-*->inference-cpu",
}
OUTAGE_MODES = {
    "down": LinkFaults(reset=True, refuse=True),  # live connections reset, new ones refused
    "blackhole": LinkFaults(blackhole=True),  # connections hang: the slowest kind of outage
}


def _links(pattern: str) -> list[str]:
    platform = current_session().platform
    matched = [name for name in platform.links() if fnmatch.fnmatchcase(name, pattern)]
    if not matched:
        raise PlatformError(f"no link matches {pattern!r}; links: {', '.join(platform.links())}")
    return matched


@bounded(10)
def kill_component(component: str) -> str:
    """SIGKILL a component's process group (a crash; no graceful shutdown)."""
    session = current_session()
    session.injected("kill", component)
    session.platform.kill(component)
    return f"killed {component}"


@bounded(10)
def pause_component(component: str) -> str:
    """SIGSTOP a component: it holds its connections and answers nothing (a hang)."""
    session = current_session()
    session.injected("pause", component)
    session.platform.pause(component)
    return f"paused {component}"


@bounded(10)
def resume_component(component: str) -> str:
    session = current_session()
    session.platform.resume(component)
    session.rolled_back(component, "pause")
    return f"resumed {component}"


@bounded(40)
def restart_component(component: str) -> str:
    """Stop gracefully and start again (same port, same env); returns once ready."""
    session = current_session()
    session.injected("restart", component)
    session.platform.restart(component)
    session.rolled_back(component, "restart")
    return f"restarted {component}"


@bounded(40)
def restore_component(component: str) -> str:
    """Rollback for kill/pause: resume it if paused, start it again if it is not running."""
    session = current_session()
    platform = session.platform
    platform.resume(component)
    supervisor = getattr(platform, "supervisor", None)
    if supervisor is not None and not supervisor.alive(component):
        platform.restart(component)
    session.rolled_back(component)
    return f"{component} running"


@bounded(10)
def link_fault(link: str, latency_ms: float = 0.0, jitter_ms: float = 0.0, bandwidth_bps: int = 0,
               reset: bool = False, blackhole: bool = False, refuse: bool = False) -> list:
    """Set faults on every link matching ``link`` (glob, e.g. ``gateway-*->inference-gpu``)."""
    faults = LinkFaults(latency_ms=latency_ms, jitter_ms=jitter_ms, bandwidth_bps=bandwidth_bps or None,
                        reset=reset, blackhole=blackhole, refuse=refuse)
    session = current_session()
    names = _links(link)
    kinds = [k for k, v in faults.model_dump().items() if v and k != "latency_mode"]
    for name in names:
        session.injected("link:" + "+".join(kinds), name)
        session.platform.link(name).set(faults)
    return names


@bounded(10)
def clear_link_faults(link: str) -> list:
    session = current_session()
    names = _links(link)
    for name in names:
        session.platform.link(name).clear()
        session.rolled_back(name)
    return names


@bounded(10)
def cpu_pressure(component: str, cpu_percent: float = 15.0) -> str:
    """Cap a component's CPU through a cgroup (100 = one core)."""
    session = current_session()
    session.injected(f"cpu_limit:{cpu_percent:g}%", component)
    session.platform.limit(component, cpu_percent=cpu_percent)
    return f"{component} limited to {cpu_percent:g}% CPU"


@bounded(10)
def memory_pressure(component: str, memory_mb: int = 64) -> str:
    session = current_session()
    session.injected(f"memory_limit:{memory_mb}MB", component)
    session.platform.limit(component, memory_mb=memory_mb)
    return f"{component} limited to {memory_mb} MB"


@bounded(10)
def release_pressure(component: str) -> str:
    session = current_session()
    session.platform.unlimit(component)
    session.rolled_back(component)
    return f"{component} unlimited"


@bounded(10)
def gpu_loss(gpus: int = 0) -> str:
    """The GPU tier loses GPUs (0 = all): it answers 503 and reports unready."""
    session = current_session()
    session.injected(f"gpu_loss:{gpus}", "inference-gpu")
    session.platform.set_gpu_count(gpus)
    return f"inference-gpu now sees {gpus} GPUs"


@bounded(10)
def restore_gpus(gpus: int = 2) -> str:
    session = current_session()
    session.platform.set_gpu_count(gpus)
    session.rolled_back("inference-gpu")
    return f"inference-gpu sees {gpus} GPUs again"


@bounded(10)
def dependency_outage(dependency: str, mode: str = "down") -> list:
    """Cut every gateway off ``dependency`` (database, cache, inference-gpu, inference-cpu)."""
    if dependency not in DEPENDENCY_LINKS or mode not in OUTAGE_MODES:
        raise PlatformError(f"dependency must be one of {sorted(DEPENDENCY_LINKS)} and mode one of "
                            f"{sorted(OUTAGE_MODES)} (got {dependency!r}, {mode!r})")
    session = current_session()
    names = _links(DEPENDENCY_LINKS[dependency])
    for name in names:
        session.injected(f"outage:{mode}", name)
        session.platform.link(name).set(OUTAGE_MODES[mode])
    return names


@bounded(10)
def restore_dependency(dependency: str) -> list:
    if dependency not in DEPENDENCY_LINKS:
        raise PlatformError(f"dependency must be one of {sorted(DEPENDENCY_LINKS)} (got {dependency!r})")
    return clear_link_faults.__wrapped__(DEPENDENCY_LINKS[dependency])  # type: ignore[attr-defined]


@bounded(60)
def heal_platform() -> list:
    """Last rollback of every experiment: clear all faults, resume, unlimit, restart dead components."""
    return current_session().heal()
