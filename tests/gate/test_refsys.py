"""The gate on real runs of the reference system: baselines, regressions, known and new findings, waivers, levels.

Three runs per session (conftest.py): clean load+security smoke, ``slow_endpoint`` load smoke, ``bola``
security smoke (~3 min together on an idle 2-core machine). Everything else is derived from their reports.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.gate.waivers import utc_today
from tests.gate.conftest import RealRun

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOLA = "security.authz.bola"


def gate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["gate", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines() + captured.err.splitlines()


def save_baseline(run: RealRun, directory: Path, name: str) -> Path:
    assert main(["baseline", "save", str(run.folder), "--name", name, "--baseline-dir", str(directory)]) == 0
    return directory / f"{name}.json"


def blocking(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("BLOCKING ")]


def test_the_clean_run_is_not_worse_than_its_own_baseline(clean_run, tmp_path, capsys):
    save_baseline(clean_run, tmp_path, "main")
    code, lines = gate(capsys, clean_run.folder, "--baseline", "main", "--baseline-dir", tmp_path)
    assert blocking(lines) == [], lines
    assert code in (ExitCode.READY, ExitCode.INCONCLUSIVE)  # a busy machine may leave the load suite undecided
    stored = json.loads((tmp_path / "main.json").read_text())
    assert stored["profile"] == "smoke" and stored["findings"] == {}
    assert stored["metrics"]["load.smoke.list_analyses.p95_ms"]["samples"] > 0
    assert stored["checks"][BOLA] == "pass"


def test_slow_endpoint_is_a_regression_naming_the_operation_and_its_p95(clean_run, slow_endpoint_run, tmp_path, capsys):
    save_baseline(clean_run, tmp_path, "main")
    summary = tmp_path / "summary.md"
    code, lines = gate(capsys, slow_endpoint_run.folder, "--baseline", "main", "--baseline-dir", tmp_path,
                       "--summary-md", summary)
    assert code == ExitCode.NOT_READY, lines
    [line] = [ln for ln in blocking(lines) if "load.smoke.list_analyses.p95_ms" in ln]
    before, after = (float(v) for v in re.search(r"p95_ms: ([\d.]+) ms → ([\d.]+) ms", line).groups())
    metric = {m.name: m for m in slow_endpoint_run.report.all_metrics()}["load.smoke.list_analyses.p95_ms"]
    baseline = {m.name: m for m in clean_run.report.all_metrics()}["load.smoke.list_analyses.p95_ms"]
    assert before == pytest.approx(baseline.value, rel=1e-3) and after == pytest.approx(metric.value, rel=1e-3)
    assert after > before + 500  # the defect adds ~800 ms to every list
    kinds = [ln.split(":")[0] for ln in blocking(lines)]
    assert kinds == sorted(kinds, key=lambda kind: kind != "BLOCKING regression")  # regressions come first
    markdown = summary.read_text()
    assert "NOT READY" in markdown and "### Regressions" in markdown
    assert re.search(r"\| `load\.smoke\.list_analyses\.p95_ms` \| [\d.]+ ms \| [\d.]+ ms \(\+\d+%\) \| \+10% \|", markdown)


def test_a_finding_the_baseline_knows_does_not_block(bola_run, tmp_path, capsys):
    save_baseline(bola_run, tmp_path, "main")
    code, lines = gate(capsys, bola_run.folder, "--baseline", "main", "--baseline-dir", tmp_path)
    assert code == ExitCode.READY, lines
    known = [line for line in lines if line.startswith(f"KNOWN {BOLA}")]
    assert len(known) == len(bola_run.report.all_findings()) >= 2


def test_a_finding_the_baseline_lacks_blocks_as_new(bola_run, tmp_path, capsys):
    path = save_baseline(bola_run, tmp_path, "main")
    stored = json.loads(path.read_text())
    delete = next(fp for fp, f in stored["findings"].items() if f["location"].startswith("DELETE"))
    del stored["findings"][delete]  # main knew the read BOLA; this change added the DELETE one
    path.write_text(json.dumps(stored))
    summary = tmp_path / "summary.md"
    code, lines = gate(capsys, bola_run.folder, "--baseline", str(path), "--summary-md", summary)
    assert code == ExitCode.NOT_READY
    [line] = blocking(lines)
    assert line.startswith(f"BLOCKING new finding: {BOLA} (critical) at DELETE /analyses/{{analysis_id}}")
    assert delete in line
    assert f"| critical | `{BOLA}` | DELETE /analyses/{{analysis_id}} [analysis_id] | `{delete}` | yes |" in summary.read_text()


def test_bola_against_the_clean_baseline_is_a_regression_with_new_findings(clean_run, bola_run, tmp_path, capsys):
    save_baseline(clean_run, tmp_path, "main")
    code, lines = gate(capsys, bola_run.folder, "--baseline", "main", "--baseline-dir", tmp_path)
    assert code == ExitCode.NOT_READY
    assert blocking(lines)[0].startswith(f"BLOCKING regression: {BOLA} pass → fail (critical)")


def waivers_file(tmp_path: Path, days: int) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": [{
        "id": "bola-tenant-scope", "check": BOLA, "reason": "tenant scoping middleware lands in PLAT-42",
        "owner": "api-team@example.com", "expires": (utc_today() + timedelta(days=days)).isoformat()}]}))
    return path


def test_a_waiver_lets_the_known_bola_pass_and_shows_it(bola_run, tmp_path, capsys):
    code, lines = gate(capsys, bola_run.folder, "--waivers", waivers_file(tmp_path, 30))
    assert code == ExitCode.READY, lines
    expires = utc_today() + timedelta(days=30)
    assert f"WAIVED {BOLA} fail (critical) waived by 'bola-tenant-scope' until {expires} " \
           "(owner api-team@example.com): tenant scoping middleware lands in PLAT-42" in lines


def test_the_same_waiver_expired_blocks_naming_it_and_its_date(bola_run, tmp_path, capsys):
    code, lines = gate(capsys, bola_run.folder, "--waivers", waivers_file(tmp_path, 0))
    assert code == ExitCode.NOT_READY
    [line] = blocking(lines)
    assert line.startswith(f"BLOCKING failed: {BOLA} fail (critical)")
    assert line.endswith(f"waiver 'bola-tenant-scope' (check {BOLA}, owner api-team@example.com) "
                         f"expired on {utc_today()}")


def test_a_waiver_about_to_expire_warns_in_the_log_and_the_summary(bola_run, tmp_path, capsys):
    summary = tmp_path / "summary.md"
    code, lines = gate(capsys, bola_run.folder, "--waivers", waivers_file(tmp_path, 5), "--summary-md", summary)
    assert code == ExitCode.READY
    assert f"WARNING waiver 'bola-tenant-scope' (check {BOLA}, owner api-team@example.com) expires in 5 days " \
           f"({utc_today() + timedelta(days=5)})" in lines
    assert "| bola-tenant-scope | check security.authz.bola | api-team@example.com |" in summary.read_text()
    assert "expires in 5 days |" in summary.read_text()


LEVELS = Path(__file__).with_name("levels.yaml")


def test_the_clean_system_reaches_the_top_level_and_bola_drops_it_one(clean_run, bola_run, tmp_path, capsys):
    _, clean_lines = gate(capsys, clean_run.folder, "--policy", LEVELS)
    assert "level gold [bronze ✓ silver ✓ gold ✓] (top level)" in clean_lines
    assert not [line for line in blocking(clean_lines) if line.startswith("BLOCKING level")]
    code, lines = gate(capsys, bola_run.folder, "--policy", LEVELS)
    assert code == ExitCode.NOT_READY
    assert f"level silver [bronze ✓ silver ✓ gold ✗]; missing for gold: {BOLA} fail" in lines
    assert f"BLOCKING level: reached silver, policy requires gold; missing for gold: {BOLA} fail" in lines


def test_a_run_with_a_policy_reports_its_level_in_json_and_html(bola_run):
    summary = bola_run.report.gate  # the bola fixture ran with --policy tests/gate/levels.yaml
    assert summary is not None and summary.policy.endswith("levels.yaml")
    assert (summary.levels, summary.level, summary.next_level) == (["bronze", "silver", "gold"], "silver", "gold")
    assert summary.missing == [f"{BOLA} fail"]
    assert bola_run.exit_code == ExitCode.NOT_READY
    html = (bola_run.folder / "readiness.html").read_text()
    assert "Level reached: <b>silver</b>" in html and f"<code>{BOLA} fail</code>" in html
