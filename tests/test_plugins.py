"""Suites are discovered through the `harness.suites` entry-point group, even from outside this repo."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.exitcodes import ExitCode
from harness.model import RunResult, Status
from tests.conftest import REPO


def make_third_party_suite(root: Path) -> dict[str, str]:
    """A distribution installed only by being on sys.path: a package plus a dist-info with entry points."""
    package = root / "acme_probes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent("""
        from pathlib import Path
        from harness.suites import SuiteSpec
        SUITE = SuiteSpec(name="acme", path=Path(__file__).parent, description="ACME's own probes")
    """))
    (package / "test_acme.py").write_text(textwrap.dedent("""
        import httpx
        def test_health(harness_target, record_check):
            status = httpx.get(harness_target.base_url + "/healthz", timeout=5).status_code
            record_check(id="acme.health.ok", title="health is 200", status="pass" if status == 200 else "fail",
                         evidence={"measured": {"status_code": status}})
    """))
    dist = root / "acme_probes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-probes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[harness.suites]\nacme = acme_probes:SUITE\n")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO}"}


def test_external_suite_is_listed_and_runs(tmp_path, example_server):
    env = make_third_party_suite(tmp_path / "site")
    listed = subprocess.run([sys.executable, "-m", "harness.cli", "suites"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert "acme" in listed.stdout and "ACME's own probes" in listed.stdout
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--suite", "acme", "--target-url", example_server(),
         "--report-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == ExitCode.READY, result.stdout + result.stderr
    run = RunResult.model_validate_json((tmp_path / "reports" / "latest" / "readiness.json").read_text())
    assert run.trigger == "cli"
    assert [(c.suite, c.id, c.status) for c in run.all_checks()] == [("acme", "acme.health.ok", Status.PASS)]


def test_broken_entry_point_is_skipped_with_a_warning(tmp_path):
    root = tmp_path / "site"
    dist = root / "broken-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[harness.suites]\nbroken = no_such_module:SUITE\n")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "suites"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)}, timeout=60)
    assert result.returncode == 0
    assert "broken" in result.stderr and "skipped" in result.stderr
