"""Time budgets of the product (not tests): start-up of the reference system and each suite on smoke.

The issues set budgets a user feels: ``harness up`` in under 20 s (SQLite and PostgreSQL), and
``harness run --suite NAME --profile smoke`` within 30 s (load, start-up included), 60 s
(security), 30 s (contract, its fuzzing budget) and 90 s (chaos). This script runs the real
commands as a user would, in rounds, and prints each measurement as a ratio of its budget
(< 1.00 is within budget). Wall-clock numbers on a shared 2-core machine are noisy: that is
why these are here and not in timed unit tests.

Run: ``.venv/bin/python bench/bench_budgets.py [--rounds 1] [--only up|suites]`` (about 4 minutes
a round). Loopback only; every command is bounded by a timeout and cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HARNESS = str(Path(sys.executable).with_name("harness"))


@dataclass(frozen=True)
class Budget:
    name: str
    argv: list[str]
    limit_s: float
    what: str


UP_BUDGETS = [
    Budget("up sqlite", ["up"], 20, "whole `harness up` (2 gateway replicas, SQLite); reported: until ready"),
    Budget("up postgres", ["up", "--backend", "postgres"], 20, "whole `harness up --backend postgres`"),
]
SUITE_BUDGETS = [
    Budget("load", ["run", "--suite", "load", "--profile", "smoke"], 30, "whole command, start-up included"),
    Budget("security", ["run", "--suite", "security", "--profile", "smoke"], 60, "whole command"),
    Budget("contract", ["run", "--suite", "contract", "--profile", "smoke"], 30, "the suite in readiness.json"),
    Budget("chaos", ["run", "--suite", "chaos", "--profile", "smoke"], 90, "whole command"),
]


@dataclass
class Measured:
    wall_s: float  # the whole command
    suite_s: float | None  # the suite's own duration from readiness.json (None for `harness up`)
    exit_code: int


def run_command(argv: list[str], cwd: Path, timeout_s: float) -> tuple[int, float, str]:
    started = time.perf_counter()
    proc = subprocess.run([HARNESS, *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "HARNESS_STATE_DIR": str(cwd / "state")})
    return proc.returncode, time.perf_counter() - started, proc.stdout + proc.stderr


def measure_up(budget: Budget, work: Path) -> Measured:
    code, wall, output = run_command([*budget.argv, "--json"], work, 120)
    try:
        if code != 0:
            raise RuntimeError(f"{budget.name} exited {code}:\n{output[-2000:]}")
        startup = json.loads(output[output.index("{"):])["target"]["extra"]["startup_s"]
        return Measured(wall, float(startup), code)
    finally:
        run_command(["down"], work, 60)


def measure_suite(budget: Budget, work: Path) -> Measured:
    report_dir = work / "reports"
    code, wall, output = run_command([*budget.argv, "--report-dir", str(report_dir)], work, 600)
    readiness = report_dir / "latest" / "readiness.json"
    if not readiness.exists():
        raise RuntimeError(f"{budget.name}: no report (exit {code}):\n{output[-2000:]}")
    run = json.loads(readiness.read_text())
    suite = next(s for s in run["suites"] if s["name"] == budget.name)
    started, finished = (datetime.fromisoformat(suite[key]) for key in ("started_at", "finished_at"))
    failed = [f"{c['id']}: {c.get('message', '')}"[:160] for c in suite["checks"] if c["status"] in ("fail", "error")]
    if failed:
        print(f"   {budget.name} (exit {code}) failed: " + "; ".join(failed), flush=True)
    return Measured(wall, (finished - started).total_seconds(), code)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start-up and suite time budgets (loopback only, bounded).")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (default 1)")
    parser.add_argument("--only", choices=["up", "suites"], help="only one group")
    args = parser.parse_args()
    budgets = ([] if args.only == "suites" else UP_BUDGETS) + ([] if args.only == "up" else SUITE_BUDGETS)
    if not shutil.which("pg_ctl") and not Path("/usr/lib/postgresql").exists():
        budgets = [b for b in budgets if b.name != "up postgres"]
        print("   (no PostgreSQL: `up postgres` skipped; apt-get install postgresql)")
    results: dict[str, list[Measured]] = {b.name: [] for b in budgets}
    for index in range(max(args.rounds, 1)):
        for budget in budgets:
            with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
                work = Path(tmp)
                measure = measure_up if budget.name.startswith("up") else measure_suite
                results[budget.name].append(measured := measure(budget, work))
            print(f"   round {index + 1}: {budget.name:12s} {measured.wall_s:6.1f} s command"
                  + (f", {measured.suite_s:6.1f} s reported" if measured.suite_s is not None else "")
                  + f", exit {measured.exit_code}", flush=True)
    print(f"\nbudgets, median over {max(args.rounds, 1)} round(s); ratio = measured / budget (< 1.00 is within)")
    print(f"   {'what':12s}{'budget':>8s}{'command':>10s}{'reported':>10s}{'ratio':>8s}  measured as")
    for budget in budgets:
        runs = results[budget.name]
        wall = statistics.median(m.wall_s for m in runs)
        reported = [m.suite_s for m in runs if m.suite_s is not None]
        inner = statistics.median(reported) if reported else None
        judged = inner if budget.name == "contract" else wall  # the contract budget is its fuzzing time
        print(f"   {budget.name:12s}{budget.limit_s:7.0f}s{wall:9.1f}s"
              f"{(f'{inner:9.1f}s' if inner is not None else '        -'):>10s}"
              f"{judged / budget.limit_s:8.2f}  {budget.what}")


if __name__ == "__main__":
    os.chdir(REPO)
    main()
