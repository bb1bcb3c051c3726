"""What stays the same when the plumbing changes: a run's checks, findings, series and timeline, by id.

``python -m tests.report.same_report capture CONFIG RUN_DIR [RUN_DIR ...]`` prints the summary of
one or more ``harness run`` report folders of the same command (``tests/report/baseline_main.json``
holds one per configuration, captured on main before the events refactor, two runs each);
``compare`` is what ``tests/test_demo.py`` asserts with.

Two runs of the same command on a shared 2-core machine differ where the harness *measures time*:
a latency threshold passes on a quiet machine and fails on a busy one, a load generator that falls
behind its schedule makes its suite inconclusive, and a chaos trial that could not judge records
fewer checks. ``compare`` therefore accepts, for ``load`` and ``chaos`` only, a check that passed on
main now failing or skipped, and an inconclusive chaos suite with a subset of main's checks — never a
check that failed on every main run now passing, a missing or extra check id, a lost finding, series
or fault. The security and contract suites (seeded) are compared status for status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MEASURED_SUITES = {"load", "chaos"}  # statuses there follow the machine's load
QUIET = {"pass", "waived", "not_applicable", "skipped"}  # contract: no defect shown (budget decides which)


def summary(run: dict[str, Any]) -> dict[str, Any]:
    """One run's report reduced to what must not change."""
    return {
        "suites": {suite["name"]: {
            "checks": {check["id"]: check["status"] for check in suite["checks"]},
            "findings": sorted({finding["check_id"] for finding in suite["findings"]}),
            "has_series": bool(suite["timeseries"]),
            "inconclusive": bool(suite["inconclusive"]),
        } for suite in run["suites"]},
        "timeline": sorted({f"{fault['fault']} -> {fault['target']}" for fault in run["timeline"]}),
    }


def merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one command: every status and finding seen per check id."""
    merged: dict[str, Any] = {"suites": {}, "timeline": sorted({t for s in summaries for t in s["timeline"]}),
                              "suite_order": list(summaries[0]["suites"])}
    for one in summaries:
        for name, suite in one["suites"].items():
            into = merged["suites"].setdefault(name, {"checks": {}, "findings": [], "has_series": False})
            for check_id, status in suite["checks"].items():
                into["checks"][check_id] = sorted({*into["checks"].get(check_id, []), status})
            into["findings"] = sorted({*into["findings"], *suite["findings"]})
            into["has_series"] = into["has_series"] or suite["has_series"]
    return merged


def compare(baseline: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """What differs between main's runs (``merge``) and this run (``summary``); [] when the report is the same."""
    now = summary(run)
    problems = []
    if list(now["suites"]) != baseline["suite_order"]:
        problems.append(f"suites {list(now['suites'])} != {baseline['suite_order']}")
    for name, before in baseline["suites"].items():
        after = now["suites"].get(name)
        if after is None:
            continue
        measured = name in MEASURED_SUITES
        ids_before, ids_after = set(before["checks"]), set(after["checks"])
        subset_ok = measured and after["inconclusive"] and ids_after <= ids_before
        if ids_after != ids_before and not subset_ok:
            problems.append(f"{name}: check ids differ: only before {sorted(ids_before - ids_after)[:10]}, "
                            f"only now {sorted(ids_after - ids_before)[:10]}")
        for check_id, status in after["checks"].items():
            seen = set(before["checks"].get(check_id, []))
            if not seen:
                continue
            allowed = set(seen)
            if measured and "pass" in seen:
                allowed |= {"fail", "skipped"}  # a busy machine can fail a timing, never pass a real defect
            if name == "contract" and seen <= QUIET:
                allowed |= QUIET
            if status not in allowed:
                problems.append(f"{name}: {check_id} is {status}, main had {sorted(seen)}")
        if after["findings"] != before["findings"] and not (measured and after["inconclusive"]):
            problems.append(f"{name}: findings {after['findings']} != {before['findings']}")
        if after["has_series"] != before["has_series"]:
            problems.append(f"{name}: time series {'present' if after['has_series'] else 'missing'}, main differs")
    if now["timeline"] != baseline["timeline"]:
        problems.append(f"timeline {now['timeline']} != {baseline['timeline']}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "capture":
        runs = [json.loads((Path(folder) / "readiness.json").read_text()) for folder in argv[2:]]
        print(json.dumps({argv[1]: merge([summary(run) for run in runs])}, indent=1, sort_keys=True))
        return 0
    print(__doc__, file=sys.stderr)
    return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
