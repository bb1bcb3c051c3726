"""Which kind node image a cluster boots: pulled ``kindest/node``, or one built here offline.

Choice, by what is there (``harness doctor`` prints it):

1. ``HARNESS_KIND_NODE_IMAGE`` names an image: use it (a user's own build or mirror).
2. ``kindest/node:<pinned Kubernetes>`` is local or can be pulled: the pull path (kindnet CNI,
   which enforces NetworkPolicy).
3. Otherwise the offline path: ``build/node-rootfs.sh`` (Debian packages) + ``build/node-image.sh``
   (Kubernetes binaries from the Go module proxy + control-plane images), tagged with a content
   key so an unchanged recipe is never rebuilt; CNI kube-router (bridge + routes + NetworkPolicy).

Where this host cannot grant every capability privileged containers ask for, a node image gets
the runc wrapper and ``restrict_oom_score_adj`` (offline: in the rootfs; pulled: a derived image).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import docker
from docker.errors import DockerException

from harness.errors import PlatformError
from harness.platforms.kind.cache import BUILD_DIR, content_key, kind_cache, versions
from harness.platforms.kind.host import has_image, missing_capabilities
from harness.platforms.kind.toolchain import Progress, ensure_offline_binaries, kind_module_dir, run_logged

Source = Literal["custom", "pulled", "offline"]


@dataclass(frozen=True)
class NodeImage:
    ref: str
    source: Source
    cni: Literal["kindnet", "kube-router"]  # kindnet ships in kindest/node; offline images carry kube-router
    addons_ref: str | None = None  # offline: the image with kube-router (and kube-proxy)
    capability_fix: bool = False

    def describe(self) -> str:
        fix = ", runc capability wrapper" if self.capability_fix else ""
        return f"{self.ref} ({self.source}, CNI {self.cni}{fix})"


def pinned_kindest() -> str:
    return f"kindest/node:{versions()['KUBERNETES_VERSION']}"


def offline_ref(missing: list[str]) -> str:
    key = content_key([BUILD_DIR / "versions.env", BUILD_DIR / "node-rootfs.sh", BUILD_DIR / "node-image.sh",
                       BUILD_DIR / "runc-capfix.sh"], json.dumps(missing))
    return f"harness-kind/node:{versions()['KUBERNETES_VERSION']}-{key}"


def rootfs_tarball(missing: list[str]) -> tuple[str, str]:
    pins = versions()  # the root filesystem depends on the Debian suite and kind's base files only
    key = content_key([BUILD_DIR / "node-rootfs.sh", BUILD_DIR / "runc-capfix.sh"], json.dumps(missing),
                      pins["DEBIAN_SUITE"], pins["KIND_VERSION"])
    return str(kind_cache() / f"node-rootfs-{key}.tar"), key


def _try_pull(client: docker.DockerClient, ref: str) -> bool:
    repo, tag = ref.rsplit(":", 1)
    try:
        client.images.pull(repo, tag=tag)
        return True
    except DockerException:
        return False


def plan(client: docker.DockerClient, *, may_pull: bool = True) -> tuple[Source, str]:
    """(path, image) this machine takes, without building anything; pulls at most one image."""
    custom = os.environ.get("HARNESS_KIND_NODE_IMAGE")
    if custom:
        return "custom", custom
    missing = missing_capabilities()
    if has_image(client, offline_ref(missing)):
        return "offline", offline_ref(missing)
    kindest = pinned_kindest()
    if has_image(client, kindest) or (may_pull and _try_pull(client, kindest)):
        return "pulled", kindest
    return "offline", offline_ref(missing)


def ensure_node_image(client: docker.DockerClient, progress: Progress) -> NodeImage:
    """The node image this machine boots, built or derived when needed."""
    source, ref = plan(client)
    missing = missing_capabilities()
    if source == "custom":
        if not has_image(client, ref) and not _try_pull(client, ref):
            raise PlatformError(f"HARNESS_KIND_NODE_IMAGE={ref} is neither local nor pullable")
        return NodeImage(ref, "custom", "kindnet")
    if source == "pulled":
        if missing:
            return NodeImage(_derive_with_capability_fix(client, ref, missing, progress), "pulled", "kindnet",
                             capability_fix=True)
        return NodeImage(ref, "pulled", "kindnet")
    if not has_image(client, ref):
        _build_offline(ref, missing, progress)
    return NodeImage(ref, "offline", "kube-router", addons_ref=f"{ref}-addons", capability_fix=bool(missing))


def _build_offline(ref: str, missing: list[str], progress: Progress) -> None:
    """Go binaries (CPU-bound) and the Debian root filesystem (network/disk-bound) side by side, then assemble."""
    kind_src = kind_module_dir(progress)
    tarball, key = rootfs_tarball(missing)
    work = kind_cache() / f"node-work-{key}"
    log = kind_cache() / "node-image.log"
    with ThreadPoolExecutor(max_workers=2) as pool:
        binaries = pool.submit(ensure_offline_binaries, progress)
        if not os.path.exists(tarball):
            rootfs = pool.submit(run_logged, ["bash", str(BUILD_DIR / "node-rootfs.sh"), str(kind_src), str(work),
                                              tarball, json.dumps(missing)], kind_cache() / "node-rootfs.log",
                                 "building the node root filesystem from Debian packages (debootstrap, ~2-8 min)",
                                 progress)
            rootfs.result()
        folder = binaries.result()
    run_logged(["bash", str(BUILD_DIR / "node-image.sh"), str(folder), tarball, str(work), ref],
               log, f"assembling node image {ref} (control-plane images into the node's containerd)", progress)


def _derive_with_capability_fix(client: docker.DockerClient, base: str, missing: list[str], progress: Progress) -> str:
    """kindest/node + runc wrapper + restrict_oom_score_adj, for hosts that lack capabilities."""
    ref = f"harness-kind/node-capfix:{base.rsplit(':', 1)[1]}-{content_key([BUILD_DIR / 'runc-capfix.sh'], base, json.dumps(missing))}"
    if has_image(client, ref):
        return ref
    progress(f"deriving {ref}: this host cannot grant {', '.join(missing)} to privileged pods")
    wrapper = (BUILD_DIR / "runc-capfix.sh").read_text().replace("@DROP_CAPS@", json.dumps(missing)) \
        .replace("@REAL_RUNC@", "/usr/local/sbin/runc.real")
    dockerfile = (f"FROM {base}\nRUN mv /usr/local/sbin/runc /usr/local/sbin/runc.real && sed -i "
                  "'s/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml\n"
                  "COPY runc /usr/local/sbin/runc\n")
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("runc", wrapper)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, tag=ref, rm=True)
    except DockerException as exc:
        raise PlatformError(f"cannot derive {ref} from {base}: {exc}") from None
    return ref
