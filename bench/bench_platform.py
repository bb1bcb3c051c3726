"""Benchmark of the local platform (not a test): gateway throughput and the fault proxy's overhead.

    .venv/bin/python bench/bench_platform.py [--duration 3] [--rounds 3] [--connections 16]

Starts the reference system with one gateway replica (capped at one core through a cgroup when
cgroups are usable), then drives ``GET /healthz`` with ``wrk`` (Debian package ``wrk``) along three
paths, interleaved round by round so that machine noise hits all of them alike:

* direct       - wrk -> gateway-1
* proxy link   - wrk -> lb->gateway-1 link (fault proxy, no faults) -> gateway-1
* load balancer - wrk -> LB -> lb->gateway-1 link -> gateway-1 (what suites use)

It prints the median requests/s and latency per path and the ratios against direct. Loopback only,
bounded: rounds x 3 paths x duration seconds of traffic.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.faults import cgroups
from harness.platforms.local.platform import LocalPlatform
from harness.safety import ensure_allowed

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, duration_s: int, connections: int) -> tuple[float, float]:
    """(requests per second, mean latency in ms) from one bounded wrk run."""
    ensure_allowed(url)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "2s", url],
                         capture_output=True, text=True, timeout=duration_s + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"  note: {url} had errors:\n{out}", file=sys.stderr)
    return rps, float(value) * UNITS[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-platform-") as state:
        platform = LocalPlatform(replicas=1, state_dir=Path(state))
        with platform as target:
            pinned = cgroups.availability() is None
            if pinned:
                platform.limit("gateway-1", cpu_percent=100)
            paths = {
                "direct": f"http://127.0.0.1:{platform.supervisor.states['gateway-1'].port}/healthz",
                "proxy link": f"http://127.0.0.1:{platform._edges['lb'].links['lb->gateway-1']}/healthz",
                "load balancer": f"{target.base_url}/healthz",
            }
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
            run_wrk(paths["direct"], 1, args.connections)  # warm-up
            for round_no in range(args.rounds):
                for name, url in paths.items():
                    results[name].append(run_wrk(url, args.duration, args.connections))
                print(f"round {round_no + 1}/{args.rounds}: " + ", ".join(
                    f"{name} {results[name][-1][0]:.0f} req/s" for name in paths))
    direct_rps = statistics.median(r for r, _ in results["direct"])
    direct_lat = statistics.median(lat for _, lat in results["direct"])
    core = "one core (cgroup cpu 100%)" if pinned else "unpinned (cgroups not usable here)"
    print(f"\ngateway-1 GET /healthz, {args.connections} connections, {core}, median of {args.rounds} x {args.duration} s")
    print(f"{'path':<14} {'req/s':>9} {'mean ms':>8} {'rps vs direct':>14} {'latency vs direct':>18}")
    for name in paths:
        rps = statistics.median(r for r, _ in results[name])
        lat = statistics.median(lat for _, lat in results[name])
        print(f"{name:<14} {rps:>9.0f} {lat:>8.2f} {rps / direct_rps:>14.2f} {lat / direct_lat:>18.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
