"""One option table: HarnessConfig's fields are the flags of ``harness run``, the pytest options and HARNESS_*."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.config import HarnessConfig
from harness.exitcodes import ExitCode
from harness.options import config_options, option_layer
from tests.conftest import REPO


def test_every_config_field_is_a_flag_a_pytest_option_and_a_variable() -> None:
    options = {o.key: o for o in config_options()}
    assert list(options) == list(HarnessConfig.model_fields)
    run_flags = {opt for param in cli.typer.main.get_command(cli.app).commands["run"].params for opt in param.opts}
    assert {o.flag for o in options.values()} <= run_flags
    assert options["identities_file"].flag == "--identities" and options["identities_file"].env == "HARNESS_IDENTITIES_FILE"
    assert options["suites"].short == "-s" and not options["suites"].pytest  # pytest selects suites by path
    pytest_help = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=REPO,
                                 capture_output=True, text=True, timeout=60).stdout
    for option in options.values():
        assert (option.flag in pytest_help) == option.pytest, option.flag
        assert option.env in pytest_help or not option.pytest


def test_flags_become_one_layer_with_comma_lists_split() -> None:
    layer = option_layer({"defects": ["bola,slow_endpoint", "sqli"], "allow_hosts": ["a.example", "b.example"],
                          "seed": "7", "redis": False, "profile": None, "load_overrides": []})
    assert layer == {"defects": ["bola", "slow_endpoint", "sqli"], "allow_hosts": ["a.example", "b.example"],
                     "seed": "7", "redis": False}


def test_harness_run_hands_the_validated_config_to_pytest_whole(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    handed: dict[str, object] = {}

    def launch(args: list[str], config: HarnessConfig) -> int:
        handed.update(args=args, config=config)
        return 0

    monkeypatch.setattr(cli, "_launch_pytest", launch)
    code = cli.main(["run", "--suite", "load", "--seed", "5", "--allow-host", "lab.example", "--redis",
                     "--load-set", "stages.0.rate=5", "--defects", "bola,sqli", "--report-dir", str(tmp_path),
                     "--pytest-arg=-x"])
    assert code == 0
    config = handed["config"]
    assert isinstance(config, HarnessConfig)
    assert (config.seed, config.allow_hosts, config.redis, config.defects) == (5, ["lab.example"], True,
                                                                               ["bola", "sqli"])
    assert config.load_overrides == ["stages.0.rate=5"] and config.report_dir == tmp_path
    assert handed["args"] == [str(REPO / "suites" / "load"), "-p", "no:cacheprovider", "-q", "-x"], "no flag re-spelt"


@pytest.mark.parametrize("spelling", ["flag", "pytest", "environment"])
def test_a_bad_value_gets_the_same_answer_however_it_is_spelt(spelling: str, tmp_path: Path) -> None:
    env = {**os.environ, "HARNESS_STATE_DIR": str(tmp_path / "state")}
    if spelling == "flag":
        argv = [sys.executable, "-m", "harness.cli", "run", "--suite", "load", "--load-workers", "0"]
    elif spelling == "pytest":
        argv = [sys.executable, "-m", "pytest", str(REPO / "suites" / "load"), "--load-workers", "0", "-p",
                "no:cacheprovider"]
    else:
        argv = [sys.executable, "-m", "harness.cli", "run", "--suite", "load"]
        env["HARNESS_LOAD_WORKERS"] = "0"
    child = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == ExitCode.USAGE_ERROR
    [line] = child.stderr.strip().splitlines()
    source = "environment variable HARNESS_LOAD_WORKERS" if spelling == "environment" else "command line"
    assert f"{source}: load_workers: Input should be greater than or equal to 1 (got '0')" in line, line
