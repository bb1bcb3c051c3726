"""A malformed waiver or baseline file (or a bad reference to one) is exit 4 with one line: file, key, allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.gate.baseline import from_run, save_baseline
from harness.model import Status
from tests.gate.factory import make_check, make_run


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "readiness.json"
    path.write_text(make_run(make_check("security.authz.bola"), make_check("load.smoke.p95.all")).model_dump_json())
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(("text", "expected"), [
    ("waivers:\n  - {check: a.b, reason: known, owner: me, expires: soon}\n",
     ["waivers.0.expires", "(got 'soon')", "allowed: a date YYYY-MM-DD"]),
    ("waivers:\n  - {check: a.b, reason: known, expires: 2030-01-01}\n",
     ["waivers.0.owner: Field required", "allowed: text"]),
    ("waivers:\n  - {check: a.b, reason: known, owner: me, expires: 2030-01-01, until: x}\n",
     ["waivers.0.until: unknown key 'until'", "known keys: id, check, fingerprint, claim, reason, owner, expires"]),
    ("waiver:\n  - {check: a.b}\n", ["waiver: unknown key 'waiver'", "known keys: waivers"]),
    ("- {check: a.b}\n", ["a waivers is a YAML mapping"]),
])
def test_a_malformed_waivers_file(tmp_path, capsys, report, text, expected):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(text)
    assert main(["gate", str(report), "--waivers", str(waivers)]) == ExitCode.USAGE_ERROR
    line = one_error_line(capsys)
    assert str(waivers) in line and all(part in line for part in expected), line


def corrupt_baseline(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    path = save_baseline(from_run(make_run(make_check("security.authz.bola", Status.PASS)), "main"), tmp_path)
    stored = json.loads(path.read_text())
    change(stored)
    path.write_text(json.dumps(stored))
    return path


@pytest.mark.parametrize(("change", "expected"), [
    (lambda b: b["checks"].update({"security.authz.bola": "meh"}),
     ["checks.security.authz.bola", "(got 'meh')", "allowed: pass, fail, error, skipped, not_applicable, waived"]),
    (lambda b: b.update(baseline_version=7), ["baseline_version", "(got 7)", "allowed: 1"]),
    (lambda b: b.pop("run_id"), ["run_id: Field required", "allowed: text"]),
    (lambda b: b.update(metrics={"load.smoke.all.p95_ms": {"value": "fast", "unit": "ms"}}),
     ["metrics.load.smoke.all.p95_ms.value", "allowed: a number"]),
])
def test_a_malformed_baseline(tmp_path, capsys, report, change, expected):
    path = corrupt_baseline(tmp_path, change)
    assert main(["gate", str(report), "--baseline", str(path)]) == ExitCode.USAGE_ERROR
    line = one_error_line(capsys)
    assert str(path) in line and all(part in line for part in expected), line


def test_a_baseline_that_is_not_json(tmp_path, capsys, report):
    path = tmp_path / "main.json"
    path.write_text("{oops")
    assert main(["gate", str(report), "--baseline", str(path)]) == ExitCode.USAGE_ERROR
    assert f"{path}: not valid JSON" in one_error_line(capsys)


def test_an_unknown_baseline_name_says_how_to_make_one(tmp_path, capsys, report):
    folder = tmp_path / "baselines"
    assert main(["gate", str(report), "--baseline", "main", "--baseline-dir", str(folder)]) == ExitCode.USAGE_ERROR
    assert (f"no baseline at {folder}/main.json (known in {folder}: none); save one with: "
            "harness baseline save reports/latest --name NAME") in one_error_line(capsys)


def test_a_baseline_needs_a_finished_run(tmp_path, capsys):
    aborted = make_run(make_check("a.b.c"))
    aborted.verdict = aborted.verdict.ABORTED
    (tmp_path / "readiness.json").write_text(aborted.model_dump_json())
    assert main(["baseline", "save", str(tmp_path), "--baseline-dir", str(tmp_path / "b")]) == ExitCode.USAGE_ERROR
    assert "ended aborted: a baseline needs a run that finished" in one_error_line(capsys)


def test_baseline_save_and_show_round_trip(tmp_path, capsys, report):
    assert main(["baseline", "save", str(report), "--name", "main", "--baseline-dir", str(tmp_path / "b")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["baseline", "show", "main", "--baseline-dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "baseline 'main' (run 20260101T000000Z-test, smoke" in out and "2 checks, failing: none" in out
