"""Foreign test targets: apps nobody here wrote the harness's way, run as a user runs the harness on them."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def run_harness(target: dict[str, Any], folder: Path, *args: str, timeout_s: float = 600) -> tuple[int, dict, str]:
    """``harness run --target FILE ARGS`` in a subprocess: (exit code, readiness.json, output)."""
    folder.mkdir(parents=True, exist_ok=True)
    target_path = folder / "target.yaml"
    target_path.write_text(yaml.safe_dump(target, sort_keys=False))
    reports = folder / "reports"
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(target_path),
                           "--report-dir", str(reports), *args],
                          cwd=folder, capture_output=True, text=True, timeout=timeout_s,
                          env={**__import__("os").environ, "HARNESS_STATE_DIR": str(folder / ".harness")})
    written = sorted(p for p in reports.glob("*/readiness.json") if p.parent.name != "latest")
    report = json.loads(written[-1].read_text()) if written else {}
    return done.returncode, report, done.stdout[-6000:] + done.stderr[-4000:]


@pytest.fixture
def harness_on() -> Callable[..., tuple[int, dict, str]]:
    return run_harness


def failed_findings(report: dict) -> list[dict]:
    return [f for suite in report.get("suites", []) for f in suite.get("findings", [])]


def checks(report: dict) -> list[dict]:
    return [c for suite in report.get("suites", []) for c in suite.get("checks", [])]


def missing_defects(report: dict, defects: dict[str, dict[str, str]]) -> list[str]:
    """Listed defects the run did not report as a finding of the expected check (id or glob) at the expected operation."""
    findings = failed_findings(report)
    missing = []
    for name, expected in defects.items():
        hit = [f for f in findings if fnmatch.fnmatchcase(f["check_id"], expected["check"])
               and (not expected["location"] or f["location"].split(" [")[0] == expected["location"])]
        if not hit:
            missing.append(name)
    return missing


@pytest.fixture(scope="module")
def serving() -> Iterator[Callable[[Any], str]]:
    """``serving(ctx)``: enter a serve() context for the module's lifetime, return its base URL."""
    opened = []

    def enter(context: Any) -> str:
        opened.append(context)
        return context.__enter__()

    yield enter
    for context in reversed(opened):
        context.__exit__(None, None, None)
