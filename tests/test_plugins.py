"""Suites are discovered through the `harness.suites` entry-point group, even from outside this repo."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


class WaiveNosniffAndWriteSummary:
    """A third-party plugin using three hooks: environment info, check modification, an extra reporter."""

    from harness.hookspecs import hookimpl

    @hookimpl
    def harness_environment_info(self, config):
        return {"change_ticket": "CHG-42"}

    @hookimpl
    def harness_modify_check(self, check, config):
        if check.id == "example.headers.nosniff" and check.status == Status.FAIL:
            return check.model_copy(update={"status": Status.WAIVED, "message": "waived until CHG-42"})
        return None

    @hookimpl
    def harness_make_reporters(self, config):
        class Summary:
            name = "summary"

            def write(self, run, folder):
                path = folder / "summary.txt"
                path.write_text(f"{run.verdict.value} {len(run.all_checks())}\n")
                return path

        return [Summary()]


def test_hooks_change_checks_environment_and_reporters(pytester, example_server, tmp_path):
    import signal

    from harness.plugins import plugin_manager
    from tests.conftest import EXAMPLE_SUITE

    plugin = WaiveNosniffAndWriteSummary()
    plugin_manager().register(plugin)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = pytester.runpytest_inprocess(
            str(EXAMPLE_SUITE), "--target-url", example_server("--no-nosniff"),
            "--report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider",
        )
    finally:
        plugin_manager().unregister(plugin)
        signal.signal(signal.SIGTERM, previous)
    assert result.ret == ExitCode.READY  # the only failure was waived
    latest = tmp_path / "reports" / "latest"
    run = RunResult.model_validate_json((latest / "readiness.json").read_text())
    nosniff = next(c for c in run.all_checks() if c.id == "example.headers.nosniff")
    assert nosniff.status == Status.WAIVED and "CHG-42" in nosniff.message
    assert run.environment.extra["change_ticket"] == "CHG-42"
    assert (latest / "summary.txt").read_text() == "ready 4\n"
