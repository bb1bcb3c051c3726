"""``harness init`` against the foreign apps: it finds the login in the spec (or, for a spec that declares no
login body, by trying the usual field names), and the target file it writes is used unchanged by
``harness run --target``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.foreign import shop_app, tickets_app
from tests.foreign.conftest import REPO, checks

pytestmark = pytest.mark.integration


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "HARNESS_STATE_DIR": str(cwd / ".harness"),
                                            "PYTHONPATH": str(REPO)})


def test_init_writes_a_target_file_that_run_uses_unchanged(tmp_path: Path) -> None:
    with shop_app.serve(shop_app.make_app()) as base_url:
        done = harness("init", "--target-url", base_url, "--identity", f"alice=alice:{shop_app.PASSWORD}",
                       "--identity", f"bob=bob:{shop_app.PASSWORD}", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        target = yaml.safe_load((tmp_path / "harness-target.yaml").read_text())
        assert target["login"] == {"path": "/login", "form": True, "body": {"user": "{username}", "pass": "{password}"},
                                   "token": "cookie:__Host-shop"}
        load = yaml.safe_load((tmp_path / "harness-load.yaml").read_text())
        assert {op["path"] for op in load["operations"]} == {"/me", "/orders", "/products", "/sellers"}
        assert all(op.get("identities") for op in load["operations"] if op["path"] in ("/me", "/orders"))
        assert load["stages"][0]["rate"] <= 2  # gentle on a system nobody sized for the harness

        before = (tmp_path / "harness-target.yaml").read_text()
        run = harness("run", "--target", "harness-target.yaml", "--suite", "load", "--suite", "security",
                      "--report-dir", "reports", cwd=tmp_path)
    assert (tmp_path / "harness-target.yaml").read_text() == before
    report = yaml.safe_load(next(p for p in (tmp_path / "reports").glob("*/readiness.json")
                                 if p.parent.name != "latest").read_text())
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-2000:]
    load_checks = [c for c in checks(report) if c["id"].startswith("load.")]
    assert load_checks and all(c["status"] == "pass" for c in load_checks), load_checks
    assert "declared" in report["environment"]["extra"]["load_profile"]  # the profile init wrote, not a refsys one
    bola = [c for c in checks(report) if c["id"] == "security.authz.bola" and c["status"] == "pass"]
    assert bola, "the security suite did not get past the login the target file describes"
    errors = [c["id"] for c in checks(report) if c["status"] == "error"]
    assert errors == []


def test_init_finds_an_undeclared_json_login_by_trying_field_names(tmp_path: Path) -> None:
    with tickets_app.serve(tickets_app.make_app()) as base_url:
        done = harness("init", "--target-url", base_url, "--username", "ann@acme.test",
                       "--password", tickets_app.PASSWORD, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    login = yaml.safe_load((tmp_path / "harness-target.yaml").read_text())["login"]
    assert login == {"path": "/api/v1/auth/token", "body": {"email": "{username}", "secret": "{password}"},
                     "token": "data.jwt"}


def test_init_refuses_wrong_credentials_in_one_line(tmp_path: Path) -> None:
    with shop_app.serve(shop_app.make_app()) as base_url:
        done = harness("init", "--target-url", base_url, "--identity", "alice=alice:wrong", cwd=tmp_path)
    assert done.returncode == 4
    assert "no working login found" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "harness-target.yaml").exists()
