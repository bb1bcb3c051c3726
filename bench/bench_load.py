"""Load-engine benchmarks (not tests): bounded, loopback only, numbers printed side by side.

1. Generator throughput per CPU core on a trivial endpoint: the harness (open model, one
   worker) vs a plain Locust FastHttpUser locustfile vs wrk. CPU is the generator's own
   user+system time (``RUSAGE_CHILDREN`` delta), so a busy machine shifts all three alike.
2. Percentile error against ground truth on "200 ms delay on every request + one 1 s stall":
   the harness (latency from the intended start) vs plain Locust (closed loop, so users
   blocked by the stall stop sending: coordinated omission).

Run: ``.venv/bin/python bench/bench_load.py`` (about 1.5 minutes).
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.load import LoadRun, run_load  # noqa: E402
from harness.load.profile import parse_profile  # noqa: E402
from harness.load.schedule import arrivals  # noqa: E402
from harness.load.selftest_app import serve_selftest_app  # noqa: E402
from harness.platforms.base import Target  # noqa: E402

SECONDS = 8
USERS = 50
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, task, {wait}

class Plain(FastHttpUser):
    wait_time = {wait_expr}

    @task
    def hit(self):
        self.client.get("{path}")
"""


# -- a trivial, fast target: hand-written because it must cost far less than any generator ----------
class _FixedReply(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # GETs without bodies: one reply per header block
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


def _serve_fixed(fd: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_FixedReply, sock=socket.socket(fileno=fd))
        await server.serve_forever()

    asyncio.run(main())


def start_fixed_server() -> tuple[subprocess.Popen[bytes], str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    proc = subprocess.Popen([sys.executable, __file__, "serve", str(sock.fileno())], pass_fds=[sock.fileno()])
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("fixed-reply server did not start")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- 1. throughput per core --------------------------------------------------------------------------
def harness_throughput(url: str, out: Path) -> tuple[int, float]:
    profile = parse_profile({"name": "bench", "stages": [{"duration_s": SECONDS, "rate": 6000}],
                             "max_users": USERS, "operations": [{"name": "hit", "path": "/"}]}, "bench")
    before = children_cpu()
    result = run_load(profile, Target(base_url=url), out_dir=out)
    return result.requests, children_cpu() - before


def plain_locust(url: str, out: Path, users: int, seconds: float, wait_expr: str, path: str,
                 on_started=None) -> tuple[int, float, dict[str, float]]:  # type: ignore[no-untyped-def]
    locustfile = out / "plain_locustfile.py"
    wait = wait_expr.split("(")[0]
    locustfile.write_text(PLAIN_LOCUSTFILE.format(wait=wait, wait_expr=wait_expr, path=path))
    before = children_cpu()
    proc = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users),
                             "-r", str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(out / "plain"),
                             "--only-summary", "--stop-timeout", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=out)
    if on_started:
        on_started()
    proc.wait(timeout=seconds + 60)
    cpu = children_cpu() - before
    with (out / "plain_stats.csv").open() as handle:
        row = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"][0]
    return int(row["Request Count"]), cpu, {p: float(row[f"{p}%"]) for p in ("50", "95", "99")}


def wrk_throughput(url: str) -> tuple[int, float]:
    before = children_cpu()
    out = subprocess.run(["wrk", "-t1", f"-c{USERS}", f"-d{SECONDS}s", url + "/"], capture_output=True,
                         text=True, timeout=SECONDS + 30).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return requests, children_cpu() - before


# -- 2. percentile error vs ground truth --------------------------------------------------------------
DELAY_S, STALL_S, STALL_AT_S, RATE, DURATION_S = 0.2, 1.0, 4.0, 50, 10


def modelled_truth() -> dict[str, float]:
    """Percentiles (ms) an open-model client at RATE/s sees given only the delay and the stall."""
    values = []
    for offset in (i / RATE for i in range(int(RATE * DURATION_S))):
        if STALL_AT_S <= offset < STALL_AT_S + STALL_S:
            values.append(STALL_AT_S + STALL_S + DELAY_S - offset)
        elif offset < STALL_AT_S < offset + DELAY_S:
            values.append(STALL_AT_S + STALL_S - offset)
        else:
            values.append(DELAY_S)
    values.sort()
    return {p: values[min(int(round(float(p) / 100 * len(values) + 0.5)) - 1, len(values) - 1)] * 1000
            for p in ("50", "95", "99")}


def harness_stall(out: Path) -> dict[str, float]:
    profile = parse_profile({"name": "stall", "stages": [{"duration_s": DURATION_S, "rate": RATE}], "max_users": 150,
                             "operations": [{"name": "d", "path": f"/delay?delay_ms={DELAY_S * 1000:g}"}]}, "bench")
    with serve_selftest_app() as url, LoadRun(profile, Target(base_url=url), out_dir=out) as run:
        httpx.post(url + "/_stall", json={"at_epoch": run.start_epoch + STALL_AT_S, "seconds": STALL_S})
        latency = run.wait().latency
    return {"50": latency.p50_ms, "95": latency.p95_ms, "99": latency.p99_ms}  # type: ignore[dict-item]


def locust_stall(out: Path) -> dict[str, float]:
    users = 15  # each paced at RATE/users per second: the same 50 req/s while the target is healthy
    with serve_selftest_app() as url:
        stall = lambda: httpx.post(url + "/_stall", json={"at_epoch": time.time() + 1.0 + STALL_AT_S,  # noqa: E731
                                                          "seconds": STALL_S})
        _, _, percentiles = plain_locust(url, out, users, DURATION_S + 1, f"constant_pacing({users / RATE})",
                                         f"/delay?delay_ms={DELAY_S * 1000:g}", on_started=stall)
    return percentiles


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        server, url = start_fixed_server()
        try:
            rows = {"harness": harness_throughput(url, out / "h"), "plain locust": plain_locust(
                url, out, USERS, SECONDS, "constant(0)", "/")[:2], "wrk": wrk_throughput(url)}
        finally:
            server.kill()
            server.wait()
        print(f"\n1. generator throughput, trivial endpoint, {SECONDS}s, {USERS} connections, one process each")
        per_core = {name: requests / cpu for name, (requests, cpu) in rows.items()}
        for name, (requests, cpu) in rows.items():
            print(f"   {name:13s} {requests:8d} req  {cpu:6.2f} CPU-s  {per_core[name]:8.0f} req/CPU-s")
        print(f"   harness / plain locust = {per_core['harness'] / per_core['plain locust']:.2f}x   "
              f"harness / wrk = {per_core['harness'] / per_core['wrk']:.2f}x")

        truth = modelled_truth()
        measured = {"harness": harness_stall(out / "stall"), "plain locust": locust_stall(out)}
        print(f"\n2. percentile error vs ground truth: {DELAY_S * 1000:g} ms delay + one {STALL_S:g} s stall, "
              f"{RATE}/s for {DURATION_S}s")
        print("   " + "truth".ljust(13) + "  ".join(f"p{p}={truth[p]:7.1f}ms" for p in truth))
        for name, values in measured.items():
            errors = "  ".join(f"p{p}={values[p]:7.1f}ms ({(values[p] - truth[p]) / truth[p]:+.0%})" for p in truth)
            print(f"   {name:13s}{errors}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        _serve_fixed(int(sys.argv[2]))
    else:
        os.chdir(REPO)
        main()
