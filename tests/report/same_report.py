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

Chaos is judged per experiment, both ways: an experiment that is inconclusive now (its hypothesis
skipped) may lack checks main recorded, and an experiment main could not judge in any of its runs
(its hypothesis only ever skipped) has no baseline beyond that: judged now, its hypothesis may pass
(never fail) and its other checks are new. (Measured: on a quiet machine the defects run judges
``gpu_loss``, which both of main's captured runs left inconclusive; arch's own tree does the same.)
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
            # claim-only checks (run with a claims file's own numbers) decide claims, not the run: not compared
            "checks": {check["id"]: check["status"] for check in suite["checks"] if not check.get("claim_only")},
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
        unjudged = unjudged_experiments(before["checks"]) if name == "chaos" else set()
        only_before = {i for i in ids_before - ids_after if not (name == "chaos" and experiment_of(i) in
                                                                 unjudged_experiments(after["checks"]))}
        only_now = {i for i in ids_after - ids_before if experiment_of(i) not in unjudged}
        if (only_before or only_now) and not subset_ok:
            problems.append(f"{name}: check ids differ: only before {sorted(only_before)[:10]}, "
                            f"only now {sorted(only_now)[:10]}")
        for check_id, status in after["checks"].items():
            seen = set(before["checks"].get(check_id, []))
            if not seen:
                continue
            allowed = set(seen)
            if measured and "pass" in seen:
                allowed |= {"fail", "skipped"}  # a busy machine can fail a timing, never pass a real defect
            if experiment_of(check_id) in unjudged:
                allowed |= {"pass"}  # main never judged it; judged now it holds
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


def experiment_of(check_id: str) -> str:
    """``chaos.gpu_loss.recovery`` -> ``chaos.gpu_loss``."""
    return check_id.rsplit(".", 1)[0]


def unjudged_experiments(checks: dict[str, Any]) -> set[str]:
    """Chaos experiments whose hypothesis was only ever skipped (inconclusive) in these checks."""
    statuses = {i: {s} if isinstance(s, str) else set(s) for i, s in checks.items()}
    return {experiment_of(i) for i, seen in statuses.items() if i.endswith(".hypothesis") and seen == {"skipped"}}


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "capture":
        runs = [json.loads((Path(folder) / "readiness.json").read_text()) for folder in argv[2:]]
        print(json.dumps({argv[1]: merge([summary(run) for run in runs])}, indent=1, sort_keys=True))
        return 0
    print(__doc__, file=sys.stderr)
    return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
