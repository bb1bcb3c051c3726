"""``KindPlatform``: the reference system on a kind cluster, reached through the same ``Target`` as local.

One cluster serves a whole run: the first ``start()`` creates it (or reuses one of the same name),
every ``start()`` deploys a fresh reference system (the ``refsys`` namespace is recreated, so one
suite's data and rate-limit windows cannot leak into the next), ``stop()`` removes the namespace.
A cluster (and a docker daemon) this process created is deleted when the process exits, unless
``keep_cluster`` — ``harness up`` keeps it until ``harness down``. Every cluster-level change is in
the ledger (``<state_dir>/kind-undo.jsonl``), so a killed run is cleaned up by the next start/down.
"""

from __future__ import annotations

import atexit
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from harness.errors import PlatformError, UsageError
from harness.platforms.base import Identity, Platform, Target
from harness.platforms.kind import manifests
from harness.platforms.kind.cache import versions
from harness.platforms.kind.cluster import Cluster, delete_cluster, ensure_cluster
from harness.platforms.kind.faults import kill_pod, rollout_restart, set_gpu_health
from harness.platforms.kind.host import docker_client, ensure_daemon, ensure_host_dir
from harness.platforms.kind.images import RefsysImages, build_refsys_images
from harness.platforms.kind.ledger import Ledger
from harness.platforms.kind.loading import load_images
from harness.platforms.kind.nodeimage import NodeImage, ensure_node_image
from harness.platforms.kind.rollout import node_summary, wait_api, wait_gpus, wait_nodes, wait_workloads
from harness.platforms.kind.toolchain import ensure_offline_binaries, kind_cli

GPUS_PER_NODE = 4
DEFAULT_CLUSTER = "harness"
Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    """Progress on the real terminal, also while pytest captures output."""
    stream = sys.__stderr__ or sys.stderr
    print(f"kind: {line}", file=stream, flush=True)


def seeded_identities() -> dict[str, Identity]:
    """The refsys's seeded users (the gateway seeds them on every start)."""
    from fixtures.refsys.gateway.storage import SEED_PASSWORD, SEED_USERS

    return {f"{tenant}_{role}": Identity(name=f"{tenant}_{role}", username=username, password=SEED_PASSWORD,
                                         tenant=tenant, role=role) for _, username, tenant, role in SEED_USERS}


def split_defects(defects: list[str]) -> tuple[list[str], list[str]]:
    from fixtures.refsys.defects import split_defects as split

    try:
        app, manifest = split(defects)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return sorted(app), sorted(manifest)


class KindPlatform(Platform):
    name = "kind"

    def __init__(self, *, defects: list[str] | None = None, cluster_name: str = DEFAULT_CLUSTER,
                 keep_cluster: bool = False, state_dir: Path | None = None, env: dict[str, str] | None = None,
                 startup_timeout_s: float = 300.0, progress: Progress | None = None) -> None:
        self.app_defects, self.manifest_defects = split_defects(list(defects or []))
        self.cluster_name = cluster_name
        self.keep_cluster = keep_cluster
        self.state_dir = (state_dir or Path(".harness")).absolute()
        self.env = dict(env or {})
        self.startup_timeout_s = startup_timeout_s
        self.progress: Progress = progress or (lambda line: None)
        self.ledger = Ledger(self.state_dir)
        self.cluster: Cluster | None = None
        self.node_image: NodeImage | None = None
        self.images: RefsysImages | None = None
        self.target: Target | None = None
        self._api: Any = None
        self._nodes: list[dict[str, Any]] = []

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> Target:
        started = time.monotonic()
        healed = self.ledger.undo_kinds(frozenset({"gpu_health"}))
        for line in healed:
            self.progress(f"healed a fault a previous run left: {line}")
        daemon = ensure_daemon(self.ledger)
        if daemon.started_by_us and not self.keep_cluster:
            atexit.register(self._exit_cleanup)
        ensure_host_dir(self.ledger, Path("/lib/modules"))
        # the node image (Go builds, CPU) and the refsys images (apt + wheels, network) build side by side
        with ThreadPoolExecutor(max_workers=2) as pool:
            node_image = pool.submit(ensure_node_image, docker_client(timeout=900), self.progress)
            refsys_images = pool.submit(build_refsys_images, docker_client(timeout=900), self.progress)
            self.node_image, self.images = node_image.result(), refsys_images.result()
        kind = kind_cli() or ensure_offline_binaries(self.progress, ("kind",)) / "kind"
        self.cluster = ensure_cluster(self.cluster_name, kind, self.node_image, self.state_dir, self.ledger, self.progress)
        if self.cluster.created_by_us and not self.keep_cluster:
            atexit.register(self._exit_cleanup)
        self._api = manifests.api_client(self.cluster.kubeconfig)
        wait_api(self._api, self.progress)
        images = self.images  # loaded before anything refers to them (no pull attempts, no back-off)
        load_images(self.cluster, self._api, {"gpu": [images.inference, images.gpu_plugin],
                                              "cpu": [images.gateway, images.inference, images.postgres, images.redis]},
                    self.progress)
        self._install_addons()
        wait_gpus(self._api, GPUS_PER_NODE, self.progress)
        self._deploy()
        self.target = self._make_target(time.monotonic() - started)
        return self.target

    def redeploy(self, defects: list[str] | None = None, env: dict[str, str] | None = None) -> Target:
        """A fresh reference system in the running cluster, with other defects/settings (tests, game days)."""
        if self.cluster is None:
            raise PlatformError("the kind platform is not started")
        self.app_defects, self.manifest_defects = split_defects(list(defects or []))
        self.env = dict(env if env is not None else self.env)
        started = time.monotonic()
        self._deploy()
        self.target = self._make_target(time.monotonic() - started)
        return self.target

    def _install_addons(self) -> None:
        assert self.node_image is not None and self.images is not None
        docs: list[dict[str, Any]] = []
        if self.node_image.cni == "kube-router":
            assert self.node_image.addons_ref
            docs += manifests.load_addon("kube-router", KUBE_ROUTER_IMAGE=self.node_image.addons_ref)
        docs += manifests.load_addon("fake-gpu-plugin", GPU_PLUGIN_IMAGE=self.images.gpu_plugin,
                                     GPU_COUNT=str(GPUS_PER_NODE))
        manifests.apply(self._api, docs)
        wait_nodes(self._api, 4, self.progress)

    def _deploy(self) -> None:
        assert self.images is not None and self.cluster is not None
        self._delete_namespace(wait=True)
        docs = manifests.render(manifests.load_documents(), self.images, app_defects=self.app_defects,
                                manifest_defects=self.manifest_defects, public_url=self.base_url, env=self.env)
        manifests.apply(self._api, docs[:1] + manifests.generated_secrets() + docs[1:])
        wait_workloads(self._api, manifests.workloads(docs), self.progress, timeout_s=self.startup_timeout_s)
        self._wait_gateway()

    @property
    def base_url(self) -> str:
        assert self.cluster is not None
        return f"http://127.0.0.1:{self.cluster.gateway_port}"

    def _wait_gateway(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.base_url}/readyz", timeout=3, trust_env=False)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise PlatformError(f"gateway at {self.base_url} not ready through the NodePort mapping: {last}")

    def _delete_namespace(self, *, wait: bool) -> None:
        core = k8s.CoreV1Api(self._api)
        try:
            core.delete_namespace(manifests.NAMESPACE, grace_period_seconds=2)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        deadline = time.monotonic() + 120
        while wait and time.monotonic() < deadline:
            try:
                core.read_namespace(manifests.NAMESPACE)
            except ApiException as exc:
                if exc.status == 404:
                    return
                raise
            time.sleep(1)

    def _make_target(self, startup_s: float) -> Target:
        assert self.cluster is not None and self.node_image is not None
        self._nodes = node_summary(self._api)
        return Target(
            base_url=self.base_url, openapi_url=f"{self.base_url}/openapi.json", metrics_url=f"{self.base_url}/metrics",
            identities=seeded_identities(),
            extra={"platform": "kind", "cluster": self.cluster.name, "kubeconfig": str(self.cluster.kubeconfig),
                   "namespace": manifests.NAMESPACE, "defects": self.app_defects + self.manifest_defects,
                   "manifest_defects": self.manifest_defects, "startup_s": round(startup_s, 1),
                   "components": {"gateway": self.base_url}, "probe_image": self.images.inference if self.images else ""},
        )

    def stop(self) -> None:
        if self._api is not None:
            try:
                self._delete_namespace(wait=False)
            except Exception:  # noqa: BLE001 - the cluster may already be gone; nothing else to undo here
                pass
        self._api = None

    def _exit_cleanup(self) -> None:
        """At process exit: delete what this process created (the cluster, then the daemon)."""
        if self.cluster is not None and self.cluster.created_by_us:
            delete_cluster(self.cluster, self.ledger)
            for leftover in (self.cluster.kubeconfig, self.state_dir / f"kind-{self.cluster.name}.yaml"):
                leftover.unlink(missing_ok=True)
        self.ledger.undo_kinds(frozenset({"gpu_health", "dockerd", "host_dir"}))

    # -- faults -----------------------------------------------------------------------------
    def kill(self, component: str) -> None:
        kill_pod(self._require_api(), component)

    def restart(self, component: str) -> None:
        rollout_restart(self._require_api(), component)

    def set_gpu_health(self, node: str, *, healthy: bool) -> dict[str, Any]:
        """GPU loss (``healthy=False``) on one GPU node, through the fake device plugin; ledgered."""
        assert self.cluster is not None
        return set_gpu_health(self._require_api(), self.cluster.kubeconfig, self.ledger, node, healthy=healthy)

    def _require_api(self) -> Any:
        if self._api is None:
            raise PlatformError("the kind platform is not started")
        return self._api

    # -- facts ----------------------------------------------------------------------------
    def environment(self) -> dict[str, Any]:
        pins = versions()
        nodes = self._nodes or []
        layout = ", ".join(f"{n['name']}{' (GPU x' + str(n['gpus']) + ')' if n['gpu_node'] else ''}" for n in nodes)
        return {"platform": "kind", "kubernetes_version": nodes[0]["kubelet"] if nodes else pins["KUBERNETES_VERSION"],
                "kind_version": pins["KIND_VERSION"], "cluster": self.cluster_name,
                "node_layout": f"{len(nodes)} nodes: {layout}" if nodes else "",
                "node_image": self.node_image.describe() if self.node_image else "",
                "defects": self.app_defects + self.manifest_defects}

    def status(self) -> dict[str, Any]:
        if self._api is None:
            return {}
        pods = k8s.CoreV1Api(self._api).list_namespaced_pod(manifests.NAMESPACE).items
        return {p.metadata.name: {"node": p.spec.node_name, "phase": p.status.phase,
                                  "ready": all(c.ready for c in p.status.container_statuses or [])} for p in pods}
