"""``harness doctor``: what is present or missing on this machine, and what each gap disables."""

from __future__ import annotations

import glob
import shutil
import socket
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version


@dataclass(frozen=True)
class Finding:
    name: str
    present: bool
    detail: str
    disables: str  # what does not work while this is missing
    hint: str = ""


PACKAGES = {
    "pytest": "everything (suites are pytest packages)",
    "locust": "the load suite and chaos background load",
    "schemathesis": "the contract suite",
    "chaostoolkit-lib": "the chaos suite",
    "chaostoolkit-kubernetes": "chaos experiments on the kind platform",
    "kubernetes": "the kind platform",
    "testcontainers": "container-backed fixtures",
    "httpx": "security probes and readiness checks",
    "fastapi": "the reference system",
    "hdrhistogram": "mergeable latency histograms",
}

BINARIES = [
    ("postgres", ["postgres", "/usr/lib/postgresql/*/bin/postgres"], "--backend postgres", "apt-get install postgresql"),
    ("initdb", ["initdb", "/usr/lib/postgresql/*/bin/initdb"], "--backend postgres", "apt-get install postgresql"),
    ("redis-server", ["redis-server"], "--redis (rate limits/cache in Redis)", "apt-get install redis-server"),
    ("chromium", ["chromium", "chromium-browser"], "the HTML report rendering test", "apt-get install chromium"),
    ("wrk", ["wrk"], "load benchmarks against wrk", "apt-get install wrk"),
    ("docker", ["docker"], "image builds for the kind platform", "apt-get install docker.io"),
    ("kind", ["kind"], "--platform kind", "go install sigs.k8s.io/kind@latest"),
    ("kubectl", ["kubectl"], "debugging the kind platform by hand", "apt-get install kubernetes-client"),
]


def find_binary(candidates: list[str]) -> str | None:
    for candidate in candidates:
        if "*" in candidate:
            matches = sorted(glob.glob(candidate))
            if matches:
                return matches[-1]
        elif found := shutil.which(candidate):
            return found
    return None


def _free_port() -> tuple[bool, str]:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return True, f"can bind 127.0.0.1 (e.g. port {sock.getsockname()[1]})"
    except OSError as exc:
        return False, f"cannot bind a loopback port: {exc}"


def _cgroups() -> tuple[bool, str]:
    """The same test the platform uses before it applies a limit (v2, or v1 cpu+memory hierarchies)."""
    from harness.faults import cgroups

    reason = cgroups.availability()
    if reason is not None:
        return False, reason
    return True, f"cgroup {cgroups.hierarchy()} cpu + memory writable"


def diagnose() -> list[Finding]:
    out = [
        Finding(
            "python", sys.version_info >= (3, 11), sys.version.split()[0], "everything", "use Python 3.11 or 3.12"
        )
    ]
    for package, disables in PACKAGES.items():
        try:
            out.append(Finding(package, True, version(package), disables))
        except PackageNotFoundError:
            out.append(Finding(package, False, "not installed", disables, "pip install -e ."))
    for name, candidates, disables, hint in BINARIES:
        path = find_binary(candidates)
        out.append(Finding(name, path is not None, path or "not found", disables, hint))
    ok, detail = _free_port()
    out.append(Finding("free ports", ok, detail, "every local platform component"))
    ok, detail = _cgroups()
    out.append(Finding("cgroups", ok, detail, "CPU/memory pressure faults on the local platform", "run as root, or delegate cpu+memory to the harness's cgroup"))
    out.extend(_kind_findings())
    return out


def _kind_findings() -> list[Finding]:
    """The kind platform's path on this machine (pull or offline build) and what it lacks."""
    try:
        from harness.platforms.kind.doctor import kind_facts
    except ImportError as exc:
        return [Finding("kind platform", False, f"cannot import: {exc}", "--platform kind", "pip install -e .")]
    return [Finding(f"kind: {f.name}", f.ok, f.detail, f.disables, f.hint) for f in kind_facts()]
