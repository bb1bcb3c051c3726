"""The binaries the kind platform runs: the kind CLI, and (offline) everything a node image needs.

On a machine with internet the kind CLI comes from PATH and nothing else is built. Without one,
``build/go-binaries.sh`` builds the pinned versions (``build/versions.env``) from the Go module
proxy into the cache (``bin-<versions key>``); a binary already there is not rebuilt. Go's own
build cache is deleted afterwards when the disk is getting full.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from harness.errors import PlatformError
from harness.platforms.kind.cache import BUILD_DIR, binaries_dir, kind_cache, versions

# component -> (binaries it makes, the versions.env pin it is built at); mirrors build/go-binaries.sh
COMPONENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "kind": (("kind",), "KIND_VERSION"),
    "pause": (("pause",), "KUBERNETES_VERSION"),
    "kubernetes": (("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubeadm",
                    "kubectl"), "KUBERNETES_VERSION"),
    "etcd": (("etcd",), "ETCD_VERSION"),
    "coredns": (("coredns",), "COREDNS_VERSION"),
    "kube-router": (("kube-router",), "KUBE_ROUTER_VERSION"),
}
OFFLINE_COMPONENTS = tuple(COMPONENTS)
GO = "/usr/local/go/bin/go"
LOW_DISK_BYTES = 20 * 2**30

Progress = Callable[[str], None]


def go_binary() -> str | None:
    return shutil.which("go") or (GO if os.path.exists(GO) else None)


def go_work_dir() -> Path:
    return kind_cache() / "go"


def kind_cli() -> Path | None:
    """kind on PATH (a user's install) or the one built into the cache at the pinned version."""
    found = shutil.which("kind")
    if found:
        return Path(found)
    return binaries_dir() / "kind" if not stale_components(("kind",)) else None


def stale_components(components: tuple[str, ...] = OFFLINE_COMPONENTS) -> list[str]:
    """Components not yet built at their pinned version (binary missing or stamp different)."""
    pins, folder = versions(), binaries_dir()
    stale = []
    for name in components:
        binaries, pin = COMPONENTS[name]
        stamp = folder / f".stamp-{name}"
        built = stamp.exists() and stamp.read_text().strip() == pins[pin]
        if not built or not all((folder / b).exists() for b in binaries):
            stale.append(name)
    return stale


def run_logged(args: list[str], log_path: Path, what: str, progress: Progress, env: dict[str, str] | None = None) -> None:
    """Run a build step (niced), its output appended to ``log_path``; a failure names the log's tail."""
    progress(f"{what} (log {log_path})")
    with open(log_path, "ab") as log_file:
        code = subprocess.call(["nice", "-n", "10", *args], stdout=log_file, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    if code != 0:
        tail = " | ".join(log_path.read_text(errors="replace").splitlines()[-6:])
        raise PlatformError(f"{what} failed (exit {code}): {tail}; full log {log_path}")


def ensure_offline_binaries(progress: Progress, components: tuple[str, ...] = OFFLINE_COMPONENTS) -> Path:
    """Build whatever of ``components`` is missing in the cache; returns the binaries folder."""
    out = binaries_dir()
    if not stale_components(components):
        return out
    go = go_binary()
    if go is None:
        raise PlatformError("building kind and Kubernetes offline needs Go (>= 1.24) on PATH or in /usr/local/go; "
                            "or use a machine that can pull kindest/node")
    pins = versions()
    run_logged(["bash", str(BUILD_DIR / "go-binaries.sh"), str(out), str(go_work_dir()), *components],
               kind_cache() / "go-build.log",
               f"building kind {pins['KIND_VERSION']}, Kubernetes {pins['KUBERNETES_VERSION']}, etcd, coredns, "
               "kube-router from the Go module proxy (~15-20 min the first time on 2 cores)",
               progress, env={"PATH": f"{Path(go).parent}:{os.environ.get('PATH', '')}"})
    free_disk_if_low()
    return out


def free_disk_if_low() -> None:
    """Delete Go's build cache (rebuildable, ~5 GB) when the cache's disk has less than 20 GiB free."""
    work = go_work_dir()
    if shutil.disk_usage(kind_cache()).free < LOW_DISK_BYTES and (work / "gocache").exists():
        shutil.rmtree(work / "gocache", ignore_errors=True)


def kind_module_dir(progress: Progress) -> Path:
    """The kind module's source (its node base files), from the Go module cache."""
    pins = versions()
    path = go_work_dir() / "gomod" / "sigs.k8s.io" / f"kind@{pins['KIND_VERSION']}"
    if path.exists():
        return path
    go = go_binary()
    if go is None:
        raise PlatformError("building a node image offline needs Go to fetch the kind module's base files")
    env = {**os.environ, "GOMODCACHE": str(go_work_dir() / "gomod"), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    progress(f"fetching sigs.k8s.io/kind@{pins['KIND_VERSION']} sources (node base files)")
    result = subprocess.run([go, "mod", "download", f"sigs.k8s.io/kind@{pins['KIND_VERSION']}"], env=env,
                            capture_output=True, text=True, cwd=kind_cache())
    if result.returncode != 0 or not path.exists():
        raise PlatformError(f"cannot fetch the kind module: {result.stderr.strip()[:300]}")
    return path
