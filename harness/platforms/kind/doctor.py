"""What ``harness doctor`` says about the kind platform: which path this machine takes and what is missing.

Paths: *pull* (``kindest/node`` is local or the registry answers; kindnet is the CNI) or *offline
build* (node image from Debian packages + Kubernetes binaries built from the Go module proxy;
kube-router is the CNI). Nothing is pulled or built here; at most one registry metadata query.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException

from harness.platforms.kind import nodeimage
from harness.platforms.kind.host import WRAPPER_RUNTIME, docker_client, has_image, missing_capabilities, probe_daemon
from harness.platforms.kind.toolchain import go_binary, kind_cli, stale_components

KIND = "--platform kind"


@dataclass(frozen=True)
class KindFact:
    name: str
    ok: bool
    detail: str
    disables: str = KIND
    hint: str = ""


def registry_answers(ref: str) -> bool:
    try:
        docker_client(timeout=10).images.get_registry_data(ref)
        return True
    except DockerException:
        return False


def kind_facts() -> list[KindFact]:
    facts: list[KindFact] = []
    missing_caps = missing_capabilities()
    daemon = probe_daemon()
    if daemon is not None:
        ok = daemon.privileged_works(missing_caps)
        facts.append(KindFact("docker daemon", ok, f"running {daemon.version}, default runtime {daemon.default_runtime}",
                              hint="" if ok else f"stop it so the harness starts its own with the {WRAPPER_RUNTIME} wrapper"))
    elif shutil.which("dockerd"):
        facts.append(KindFact("docker daemon", os.geteuid() == 0, "not running; the harness starts dockerd itself "
                              "(no host iptables rules) and stops it at `harness down`", hint="run as root"))
    else:
        facts.append(KindFact("docker daemon", False, "no daemon and no dockerd", hint="apt-get install docker.io"))
    facts.append(KindFact("capabilities", True, f"bounding set lacks {', '.join(missing_caps)}: nodes get a runc "
                          "wrapper + restrict_oom_score_adj" if missing_caps else "full set: no runc wrapper needed"))
    if daemon is None:
        facts.append(KindFact("kind node image", False, "unknown until a docker daemon runs", hint="harness up --platform kind"))
        return facts
    path, ref = nodeimage.plan(docker_client(timeout=10), may_pull=False)
    if path == "offline" and registry_answers(nodeimage.pinned_kindest()):
        path, ref = "pulled", nodeimage.pinned_kindest()
    if path == "offline":
        built = has_image(docker_client(timeout=10), ref)
        facts.append(KindFact("kind node image", True, f"offline build: {ref} ({'built' if built else 'not built yet'}; "
                              f"{nodeimage.pinned_kindest()} cannot be pulled here); CNI kube-router"))
        missing_bins = stale_components()
        go = go_binary()
        facts.append(KindFact("offline build: Go", go is not None or not missing_bins, go or "not found",
                              hint="install Go >= 1.24 (/usr/local/go)"))
        facts.append(KindFact("offline build: binaries", True, "all built (cache)" if not missing_bins else
                              f"to build from the Go module proxy (~15-20 min on 2 cores): {', '.join(missing_bins)}"))
        debootstrap = shutil.which("debootstrap")
        facts.append(KindFact("offline build: debootstrap", built or debootstrap is not None, debootstrap or "not found",
                              hint="apt-get install debootstrap"))
    else:
        facts.append(KindFact("kind node image", True, f"{path}: {ref}; CNI kindnet"))
    kind = kind_cli()
    facts.append(KindFact("kind CLI", True, str(kind) if kind else "built from the Go module proxy on first use"))
    modules = Path("/lib/modules")
    facts.append(KindFact("/lib/modules", True, "present" if modules.exists() else "absent: created (empty) at start"))
    return facts

