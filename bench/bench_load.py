"""Load-engine benchmarks (not tests): bounded, loopback only, numbers printed side by side.

1. Generator throughput per core on a trivial endpoint: the harness (open model, one worker)
   vs a plain Locust FastHttpUser locustfile vs wrk, in rounds (the order rotates each round
   so machine noise hits all alike). With two or more CPUs every generator runs pinned to
   CPU 0 (``sched_setaffinity``, what ``taskset -c 0`` does) and the target to CPU 1. Two
   views from the same runs:

   - *requests per generator CPU-second*: requests the target answered in a steady window
     (counted by the target itself, after a warm-up) / CPU the generator used in that window
     (user+system of its process; for the harness also this process, where the parent's
     monitor thread runs). Also over the whole process, startup included.
   - *achieved req/s* in the same window with the generator pinned to one core.

2. Percentile error against ground truth on "200 ms delay on every request + one 1 s stall":
   the harness (latency from the intended start) vs plain Locust (closed loop, so users
   blocked by the stall stop sending: coordinated omission).

Run: ``.venv/bin/python bench/bench_load.py [--rounds 3] [--window 5]`` (about 4.5 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import mmap
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.load import LoadRun  # noqa: E402
from harness.load.profile import parse_profile  # noqa: E402
from harness.load.selftest_app import serve_selftest_app  # noqa: E402
from harness.platforms.base import Target  # noqa: E402

USERS = 50  # connections (users) for every generator
WARMUP_S = 2.0  # after the target answered the first request
OVERLOAD_RATE = 30_000  # arrivals/s offered: far above what one core of a Python generator sends
PACED_RATE = 4_000  # arrivals/s: below capacity, what keeping a schedule costs
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, task, {wait}

class Plain(FastHttpUser):
    wait_time = {wait_expr}

    @task
    def hit(self):
        self.client.get("{path}")
"""

# The ceiling for anything built on FastHttpUser: its HTTP client (geventhttpclient) without Locust.
BARE_CLIENT = """
import sys, time
from gevent import monkey; monkey.patch_all()
import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.url import URL

client = HTTPClient.from_url(URL(sys.argv[1]), concurrency=int(sys.argv[3]), network_timeout=10,
                             connection_timeout=10)
deadline, sent = time.time() + float(sys.argv[2]), [0]

def loop():
    while time.time() < deadline:
        client.get("/").read()
        sent[0] += 1

gevent.joinall([gevent.spawn(loop) for _ in range(int(sys.argv[3]))])
print(sent[0])
"""


# -- a trivial, fast target that counts what it answered --------------------------------------------
class _FixedReply(asyncio.Protocol):
    answered: memoryview  # one unsigned 64-bit counter in a shared mmap, read by the benchmark

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # GETs without bodies: one reply per header block
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]
            _FixedReply.answered[0] += 1


def _serve_fixed(fd: int, counter_path: str) -> None:
    with open(counter_path, "r+b") as handle:
        _FixedReply.answered = memoryview(mmap.mmap(handle.fileno(), 8)).cast("Q")

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_FixedReply, sock=socket.socket(fileno=fd))
        await server.serve_forever()

    asyncio.run(serve())


class FixedServer:
    """The hand-written target in a subprocess: it must cost far less per request than any generator."""

    def __init__(self, tmp: Path, cpu: int | None) -> None:
        counter = tmp / "answered"
        counter.write_bytes(bytes(8))
        with counter.open("r+b") as handle:
            self._answered = memoryview(mmap.mmap(handle.fileno(), 8)).cast("Q")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        self.proc = subprocess.Popen([sys.executable, __file__, "serve", str(sock.fileno()), str(counter)],
                                     pass_fds=[sock.fileno()])
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sock.close()
        for _ in range(100):
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("fixed-reply server did not start")

    @property
    def answered(self) -> int:
        return int(self._answered[0])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return float("nan")
    return times.user + times.system


# -- 1. throughput per core --------------------------------------------------------------------------
class Measured:
    """One generator run: the steady window (target-counted) and the whole process (startup included)."""

    def __init__(self, steady: tuple[int, float, float], requests: int, cpu: float, note: str = "") -> None:
        steady_requests, steady_cpu, steady_wall = steady
        self.per_cpu = steady_requests / steady_cpu
        self.rate = steady_requests / steady_wall
        self.busy = steady_cpu / steady_wall  # share of one core the generator used
        self.whole_per_cpu = requests / cpu
        self.note = note


def steady_window(server: FixedServer, cpu_of: Callable[[], float], window_s: float) -> tuple[int, float, float]:
    """Wait for traffic, skip the warm-up, then count answered requests and generator CPU over the window."""
    first = server.answered
    deadline = time.time() + 60
    while server.answered == first and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(WARMUP_S)
    count0, cpu0, wall0 = server.answered, cpu_of(), time.perf_counter()
    time.sleep(window_s)
    count1, cpu1, wall1 = server.answered, cpu_of(), time.perf_counter()
    return count1 - count0, cpu1 - cpu0, wall1 - wall0


def harness_throughput(server: FixedServer, out: Path, rate: float | None, window_s: float) -> Measured:
    """The harness on one worker: open model at ``rate`` arrivals/s, or closed (``None``: USERS flat out)."""
    duration = WARMUP_S + window_s + 2
    stage = {"duration_s": duration, "rate": rate} if rate is not None else {"duration_s": duration, "users": USERS}
    profile = parse_profile({"name": "bench", "model": "open" if rate is not None else "closed", "stages": [stage],
                             "max_users": USERS, "operations": [{"name": "hit", "path": "/"}]}, "bench")
    before, before_self = children_cpu(), time.process_time()
    with LoadRun(profile, Target(base_url=server.url), out_dir=out) as run:
        worker = run._procs[0].pid  # noqa: SLF001 - the benchmark samples the worker's CPU
        # the worker, plus this process (the parent's monitor thread is generator work too)
        steady = steady_window(server, lambda: process_cpu(worker) + time.process_time(), window_s)
        result = run.wait()
    total_cpu = children_cpu() - before + time.process_time() - before_self
    if rate is None:
        return Measured(steady, result.requests, total_cpu, f"closed model, {USERS} users, no think time")
    dropped = f"{result.dropped / max(result.scheduled, 1):.0%} of {result.scheduled} arrivals dropped"
    note = dropped if rate >= OVERLOAD_RATE else f"{dropped}, schedule lag p99 {result.lag.p99_ms:.1f} ms"
    return Measured(steady, result.requests, total_cpu, note)


def plain_locust(url: str, out: Path, users: int, seconds: float, wait_expr: str, path: str,
                 during: Callable[[subprocess.Popen[bytes]], object] | None = None
                 ) -> tuple[int, float, dict[str, float], object]:
    """A plain locustfile in its own process; ``during(proc)`` runs while it does."""
    locustfile = out / "plain_locustfile.py"
    wait = wait_expr.split("(")[0]
    locustfile.write_text(PLAIN_LOCUSTFILE.format(wait=wait, wait_expr=wait_expr, path=path))
    before = children_cpu()
    proc = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users),
                             "-r", str(users), "-t", f"{round(seconds)}s", "--host", url, "--csv", str(out / "plain"),
                             "--only-summary", "--stop-timeout", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=out)
    try:
        seen = during(proc) if during else None
        proc.wait(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cpu = children_cpu() - before
    with (out / "plain_stats.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return int(row["Request Count"]), cpu, {p: float(row[f"{p}%"]) for p in ("50", "95", "99")}, seen


def locust_throughput(server: FixedServer, out: Path, window_s: float, wait_expr: str = "constant(0)") -> Measured:
    requests, cpu, _, steady = plain_locust(
        server.url, out, USERS, WARMUP_S + window_s + 2, wait_expr, "/",
        during=lambda proc: steady_window(server, lambda: process_cpu(proc.pid), window_s))
    return Measured(steady, requests, cpu)  # type: ignore[arg-type]


def external_throughput(server: FixedServer, argv: list[str], seconds: int,
                        window_s: float) -> tuple[tuple[int, float, float], str, float]:
    """Run a generator command, measure its steady window; its stdout and total CPU when it ends."""
    before = children_cpu()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        steady = steady_window(server, lambda: process_cpu(proc.pid), window_s)
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return steady, out, children_cpu() - before


def wrk_throughput(server: FixedServer, window_s: float) -> Measured:
    seconds = round(WARMUP_S + window_s + 2)
    steady, out, cpu = external_throughput(server, ["wrk", "-t1", f"-c{USERS}", f"-d{seconds}s", server.url + "/"],
                                           seconds, window_s)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Measured(steady, requests, cpu, "bound by the one-core Python target, not by wrk")


def bare_client_throughput(server: FixedServer, out: Path, window_s: float) -> Measured:
    seconds = round(WARMUP_S + window_s + 2)
    script = out / "bare_client.py"
    script.write_text(BARE_CLIENT)
    steady, printed, cpu = external_throughput(server, [sys.executable, str(script), server.url, str(seconds),
                                                        str(USERS)], seconds, window_s)
    return Measured(steady, int(printed.strip()), cpu,
                    "geventhttpclient alone, no Locust: the ceiling for a FastHttpUser generator")


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """``median [min-max]``."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def throughput(out: Path, rounds: int, window_s: float) -> None:
    pinned = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    original = os.sched_getaffinity(0) if pinned else None
    cpus = sorted(original or [])
    runs: dict[str, Callable[[FixedServer, Path], Measured]] = {
        "harness closed": lambda srv, tmp: harness_throughput(srv, tmp, None, window_s),
        f"harness {OVERLOAD_RATE // 1000}k/s": lambda srv, tmp: harness_throughput(srv, tmp, OVERLOAD_RATE, window_s),
        f"harness {PACED_RATE // 1000}k/s": lambda srv, tmp: harness_throughput(srv, tmp, PACED_RATE, window_s),
        "plain locust": lambda srv, tmp: locust_throughput(srv, tmp, window_s),
        f"locust {PACED_RATE // 1000}k/s": lambda srv, tmp: locust_throughput(
            srv, tmp, window_s, f"constant_throughput({PACED_RATE / USERS:g})"),
        "wrk": lambda srv, tmp: wrk_throughput(srv, window_s),
        "bare client": lambda srv, tmp: bare_client_throughput(srv, tmp, window_s),
    }
    names = list(runs)
    results: dict[str, list[Measured]] = {name: [] for name in names}
    server = FixedServer(out, cpus[1] if pinned else None)
    try:
        if pinned:
            os.sched_setaffinity(0, {cpus[0]})  # generators (children, the harness's parent thread) inherit it
        for index in range(rounds):
            for name in names[index % len(names):] + names[: index % len(names)]:
                tmp = out / f"{name.replace(' ', '_').replace('/', '')}-{index}"
                tmp.mkdir()
                results[name].append(runs[name](server, tmp))
            print(f"   round {index + 1}: " + ",  ".join(
                f"{name} {results[name][-1].per_cpu:.0f} req/CPU-s {results[name][-1].rate:.0f} req/s"
                for name in names), flush=True)
    finally:
        if original is not None:
            os.sched_setaffinity(0, original)
        server.close()

    where = f"generators pinned to CPU {cpus[0]}, target to CPU {cpus[1]}" if pinned else "not pinned (< 2 CPUs)"
    print(f"\n1. generator throughput, trivial endpoint, {USERS} connections, one process each, {where};\n"
          f"   {rounds} rounds, each a {window_s:g} s window after a {WARMUP_S:g} s warm-up, requests counted by "
          f"the target; median [min-max] over rounds")
    print(f"   {'generator':15s}{'req/CPU-s':>23s}{'achieved req/s':>24s}{'CPU used':>17s}{'req/CPU-s whole':>23s}")
    for name, measured in results.items():
        print(f"   {name:15s}{spread([m.per_cpu for m in measured]):>23s}{spread([m.rate for m in measured]):>24s}"
              f"{spread([m.busy * 100 for m in measured], '{:.0f}%'):>17s}"
              f"{spread([m.whole_per_cpu for m in measured]):>23s}")
    print("   (CPU used: of the one core; whole: the generator's own request count / CPU of its whole process,\n"
          "    startup included)")
    for name, measured in results.items():
        if measured[-1].note:
            print(f"   {name}: {measured[-1].note}")
    closed, fast, paced, plain, plain_paced = names[:5]
    print(f"   {'ratios, per round':36s}{'per CPU-second':>22s}{'achieved req/s':>22s}")
    for a, b in ((closed, plain), (fast, plain), (paced, plain_paced), (closed, "wrk"), ("bare client", "wrk")):
        per_cpu = [x.per_cpu / y.per_cpu for x, y in zip(results[a], results[b], strict=True)]
        rate = [x.rate / y.rate for x, y in zip(results[a], results[b], strict=True)]
        print(f"   {a + ' / ' + b:36s}{spread(per_cpu, '{:.2f}') + 'x':>22s}{spread(rate, '{:.2f}') + 'x':>22s}")


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
    return {p: values[min(round(float(p) / 100 * len(values) + 0.5) - 1, len(values) - 1)] * 1000
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
        _, _, percentiles, _ = plain_locust(url, out, users, DURATION_S + 1, f"constant_pacing({users / RATE})",
                                            f"/delay?delay_ms={DELAY_S * 1000:g}", during=lambda _: stall())
    return percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description="Load-engine benchmarks (loopback only, bounded).")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (default 3)")
    parser.add_argument("--window", type=float, default=5.0, help="steady window per run in seconds (default 5)")
    parser.add_argument("--skip-accuracy", action="store_true", help="only the throughput comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        throughput(out, min(max(args.rounds, 1), 20), min(max(args.window, 1.0), 60.0))
        if args.skip_accuracy:
            return
        truth = modelled_truth()
        measured = {"harness": harness_stall(out / "stall"), "plain locust": locust_stall(out)}
        print(f"\n2. percentile error vs ground truth: {DELAY_S * 1000:g} ms delay + one {STALL_S:g} s stall, "
              f"{RATE}/s for {DURATION_S}s")
        print("   " + "truth".ljust(13) + "  ".join(f"p{p}={truth[p]:7.1f}ms" for p in truth))
        for name, values in measured.items():
            errors = "  ".join(f"p{p}={values[p]:7.1f}ms ({(values[p] - truth[p]) / truth[p]:+.0%})" for p in truth)
            print(f"   {name:13s}{errors}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        _serve_fixed(int(sys.argv[2]), sys.argv[3])
    else:
        os.chdir(REPO)
        main()
