"""Benchmark of the kind platform (not a test): from nothing to a ready cluster, cold and warm.

    .venv/bin/python bench/bench_kind.py [--skip-cold] [--cluster bench-kind]

* cold - nothing cached: an empty cache folder ($HARNESS_CACHE_DIR -> a temp folder) and none of
  the harness's docker images, so every part is built (offline here: Go binaries from the module
  proxy, Debian root filesystems, node image, refsys images) before the cluster is created.
* warm - the same again with everything cached: only the cluster and the deployment.

Each phase runs ``KindPlatform.start()`` (cluster + refsys ready, gateway answering on 127.0.0.1)
and then removes the cluster (and a docker daemon it started). Prints seconds per phase and the
ratio. The cold phase takes 20-30 min on 2 cores and deletes the harness's docker images (they are
rebuilt by it); its cache folder is kept as the new cache when it succeeds (moved into place).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def harness_images() -> list[str]:
    out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True)
    return [ref for ref in out.stdout.split() if ref.startswith(("harness-kind/", "harness-refsys/"))]


def bring_up(cluster: str, state: Path) -> float:
    from harness.platforms.kind.ledger import Ledger
    from harness.platforms.kind.platform import KindPlatform, stderr_progress

    platform = KindPlatform(cluster_name=cluster, keep_cluster=True, state_dir=state, progress=stderr_progress,
                            startup_timeout_s=600)
    started = time.monotonic()
    try:
        platform.start()
        return time.monotonic() - started
    finally:
        platform.stop()
        Ledger(state).undo_pending()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="measure only the warm path (keeps the cache)")
    parser.add_argument("--cluster", default="bench-kind")
    args = parser.parse_args()
    results: dict[str, float] = {}
    if not args.skip_cold:
        cold_cache = Path(tempfile.mkdtemp(prefix="harness-cache-cold-"))
        previous = os.environ.get("HARNESS_CACHE_DIR")
        os.environ["HARNESS_CACHE_DIR"] = str(cold_cache)
        for ref in harness_images():
            subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
        results["cold"] = bring_up(args.cluster, Path(tempfile.mkdtemp(prefix="harness-state-")))
        if previous is None:
            default = Path.home() / ".cache" / "harness" / "kind"
            shutil.rmtree(default, ignore_errors=True)
            default.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(cold_cache / "kind"), str(default))
            del os.environ["HARNESS_CACHE_DIR"]
        else:
            os.environ["HARNESS_CACHE_DIR"] = previous
    results["warm"] = bring_up(args.cluster, Path(tempfile.mkdtemp(prefix="harness-state-")))
    print(f"{'phase':<6} {'seconds':>8}")
    for phase, seconds in results.items():
        print(f"{phase:<6} {seconds:>8.0f}")
    if "cold" in results:
        print(f"warm/cold = {results['warm'] / results['cold']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
