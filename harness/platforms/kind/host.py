"""The docker daemon kind runs on, and what this host's kernel lets a privileged container do.

A running daemon is used as it is. Where none runs and ``dockerd`` is installed (Debian
``docker.io``; as root), the harness starts one as a managed background process — no host
iptables rules (``--iptables=false``), no ``docker0`` bridge — records it in the ledger, and
``harness down`` stops it again. Where the capability bounding set lacks capabilities that
``--privileged`` asks for (measured on a Firecracker VM: ``CAP_SYS_RESOURCE``), that daemon gets
a runc wrapper as its default runtime (``build/runc-capfix.sh``); the check reads ``CapBnd``
instead of assuming.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import psutil
from docker.errors import DockerException

from harness.errors import PlatformError
from harness.platforms.kind.cache import BUILD_DIR, kind_cache
from harness.platforms.kind.ledger import Ledger, register_undoer

# capability numbers → names (linux/capability.h); privileged containers ask for all of them
CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
WRAPPER_RUNTIME = "harness-runc"


def missing_capabilities(status_text: str | None = None, last_cap: int | None = None) -> list[str]:
    """Capabilities the kernel knows but this process's bounding set lacks (so no container gets them)."""
    if status_text is None:
        status_text = Path("/proc/self/status").read_text()
    if last_cap is None:
        try:
            last_cap = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        except OSError:
            last_cap = len(CAPABILITIES) - 1
    bounding = next((int(line.split()[1], 16) for line in status_text.splitlines() if line.startswith("CapBnd:")), None)
    if bounding is None:
        return []
    return [CAPABILITIES[bit] for bit in range(min(last_cap + 1, len(CAPABILITIES))) if not bounding >> bit & 1]


@dataclass
class DockerDaemon:
    """A reachable docker daemon and the facts the kind platform needs about it."""

    version: str
    default_runtime: str
    runtimes: list[str]
    started_by_us: bool
    ledger_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def privileged_works(self, missing: list[str]) -> bool:
        """Whether privileged containers (kind nodes) can start: nothing missing, or our wrapper is default."""
        return not missing or self.default_runtime == WRAPPER_RUNTIME


def docker_client(timeout: float = 60.0) -> docker.DockerClient:
    return docker.from_env(timeout=timeout)


def probe_daemon() -> DockerDaemon | None:
    """The running daemon, or None when none answers."""
    try:
        info = docker_client(timeout=5).info()
    except DockerException:
        return None
    return DockerDaemon(version=str(info.get("ServerVersion", "?")), default_runtime=str(info.get("DefaultRuntime", "")),
                        runtimes=sorted(info.get("Runtimes", {})), started_by_us=False,
                        facts={"storage_driver": info.get("Driver"), "cgroup_version": info.get("CgroupVersion"),
                               "cgroup_driver": info.get("CgroupDriver")})


def has_image(client: docker.DockerClient, ref: str) -> bool:
    """Whether the daemon holds the image ``ref`` (no pull)."""
    try:
        client.images.get(ref)
        return True
    except DockerException:
        return False


def write_runc_wrapper(missing: list[str]) -> Path:
    """The runc wrapper for this host (capabilities to drop baked in), in the cache folder."""
    real = shutil.which("runc") or "/usr/sbin/runc"
    text = (BUILD_DIR / "runc-capfix.sh").read_text()
    text = text.replace("@DROP_CAPS@", json.dumps(missing)).replace("@REAL_RUNC@", real)
    path = kind_cache() / "runc-capfix"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        path.chmod(0o755)
    return path


def start_daemon(ledger: Ledger, *, timeout_s: float = 60.0) -> DockerDaemon:
    """Start dockerd as a managed background process (recorded in the ledger before it starts)."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise PlatformError("no docker daemon is running and dockerd is not installed: "
                            "install Debian's docker.io (apt-get install docker.io) or start your docker daemon")
    if os.geteuid() != 0:
        raise PlatformError("no docker daemon is running; start it (e.g. `sudo systemctl start docker`) "
                            "or run the harness as root so it can start dockerd itself")
    missing = missing_capabilities()
    log_path = kind_cache() / "dockerd.log"
    pidfile = str(kind_cache() / "dockerd.pid")
    args = [dockerd, "--iptables=false", "--ip-masq=false", "--bridge=none", "--pidfile", pidfile]
    if missing:
        args += ["--add-runtime", f"{WRAPPER_RUNTIME}={write_runc_wrapper(missing)}",
                 "--default-runtime", WRAPPER_RUNTIME]
    entry = ledger.record("dockerd", f"dockerd started by the harness (log {log_path})", pidfile=pidfile)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    ledger.update(entry, pid=proc.pid, create_time=psutil.Process(proc.pid).create_time())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-5:]
            raise PlatformError(f"dockerd exited with {proc.returncode}: {' | '.join(tail)}")
        daemon = probe_daemon()
        if daemon is not None:
            daemon.started_by_us, daemon.ledger_id = True, entry
            return daemon
        time.sleep(0.5)
    raise PlatformError(f"dockerd did not answer within {timeout_s:.0f} s; see {log_path}")


def ensure_daemon(ledger: Ledger) -> DockerDaemon:
    """The running daemon, or one we start; refuses one that cannot run privileged kind nodes here."""
    daemon = probe_daemon()
    if daemon is None:
        return start_daemon(ledger)
    missing = missing_capabilities()
    if not daemon.privileged_works(missing):
        raise PlatformError(
            f"this host cannot grant {', '.join(missing)}, so the running docker daemon (default runtime "
            f"{daemon.default_runtime!r}) cannot start privileged kind nodes; stop it so the harness starts its own, "
            f"or add `--add-runtime {WRAPPER_RUNTIME}={write_runc_wrapper(missing)} --default-runtime {WRAPPER_RUNTIME}` "
            "to its options")
    return daemon


def _is_our_dockerd(proc: psutil.Process, data: dict[str, Any]) -> bool:
    """The recorded daemon: same pid and our --pidfile on its command line (start times drift on
    VMs whose clock is stepped, measured 48 s here, so they cannot identify it)."""
    try:
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    return bool(cmdline) and cmdline[0].endswith("dockerd") and data.get("pidfile", "") in cmdline


def _stop_dockerd(data: dict[str, Any]) -> bool:
    pid = data.get("pid")
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return False
    if not _is_our_dockerd(proc, data):
        return False  # pid reused: not ours
    _remove_networks()  # our daemon's networks (kind's bridge) go with it, or their bridges stay on the host
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return True


def _remove_networks() -> None:
    """Remove the user-defined networks of a daemon we are about to stop (dockerd leaves their bridges)."""
    try:
        client = docker_client(timeout=30)
        for network in client.networks.list():
            if network.name not in ("bridge", "host", "none"):
                network.remove()
    except DockerException:
        pass  # a network still in use or a daemon already gone: nothing more to do here


def _remove_host_dir(data: dict[str, Any]) -> bool:
    path = Path(data["path"])
    try:
        path.rmdir()  # only when still empty
    except OSError:
        return False
    return True


def ensure_host_dir(ledger: Ledger, path: Path) -> None:
    """Create a folder kind bind-mounts (``/lib/modules`` is absent on some VMs), undo-logged."""
    if path.exists():
        return
    entry = ledger.record("host_dir", f"created {path} (kind bind-mounts it into nodes)", path=str(path))
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        ledger.done(entry)
        raise PlatformError(f"cannot create {path}, which kind bind-mounts into its nodes: {exc}") from None


register_undoer("dockerd", _stop_dockerd)
register_undoer("host_dir", _remove_host_dir)
