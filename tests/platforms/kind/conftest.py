"""One kind cluster per test run (``kind`` marker), for this package only: built and cached on first use,
removed when the package's tests end (a cluster left running to the session's end would load the machine
under the timing-sensitive tests that follow).

The first session on a machine builds everything (offline: ~20-25 min on 2 cores, see
bench/bench_kind.py); later sessions reuse the cache and only create the cluster. Teardown runs
the ledger, so the cluster, and a docker daemon the session started, are gone afterwards.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CLUSTER = "harness-test"


@pytest.fixture(scope="package")
def kind_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kind-state")


def _unavailable() -> str | None:
    """Why this machine cannot run a kind cluster for the tests (None: it can)."""
    import os
    import shutil

    from harness.platforms.kind.host import probe_daemon

    if os.environ.get("HARNESS_SKIP_KIND"):
        return "HARNESS_SKIP_KIND is set"
    if probe_daemon() is None and not (shutil.which("dockerd") and os.geteuid() == 0):
        return "no docker daemon, and none can be started (needs dockerd and root): bash .ci/setup as root"
    return None


@pytest.fixture(scope="package")
def kind_platform(kind_state: Path):
    from harness.platforms.kind.ledger import Ledger
    from harness.platforms.kind.platform import KindPlatform, stderr_progress

    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    platform = KindPlatform(cluster_name=CLUSTER, keep_cluster=True, state_dir=kind_state, progress=stderr_progress,
                            startup_timeout_s=600)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        if platform.cluster is not None and not platform.cluster.created_by_us:
            # a leftover of an interrupted test session, reused above: this session's to remove
            subprocess.run([str(platform.cluster.kind), "delete", "cluster", "--name", CLUSTER], timeout=300)
        ledger = Ledger(kind_state)
        undone = ledger.undo_kinds(frozenset({"gpu_health", "namespace", "kind_cluster"}))
        remaining = kind_containers()  # asked while the daemon still runs
        undone += ledger.undo_pending()  # then a daemon (and folders) this session started
        failed = [line for line in undone if line.startswith("FAILED")]
        assert not failed, failed
        assert remaining == [], f"kind node containers left behind: {remaining}"


def kind_containers(cluster: str = CLUSTER) -> list[str]:
    result = subprocess.run(["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={cluster}",
                             "--format", "{{.Names}}"], capture_output=True, text=True)
    return result.stdout.split()
