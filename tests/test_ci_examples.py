"""The CI examples are real: every `harness` command in the GitHub workflow and in docs/ci.md's GitLab job
accepts its flags, and the gate and baseline commands run for real on stand-in reports (a dry run).

A renamed flag, policy file or subcommand breaks this test, not a user's pipeline.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.config import HarnessConfig
from harness.exitcodes import ExitCode
from harness.gate.baseline import from_run, save_baseline
from harness.gate.policy import load_policy
from harness.model import Status
from tests.conftest import REPO
from tests.gate.factory import make_check, make_run

WORKFLOW = REPO / ".github" / "workflows" / "readiness.yml"
CI_DOC = REPO / "docs" / "ci.md"
COMMAND = re.compile(r"(?:^|[\s;&|{(])((?:[\w.\-/]*/)?harness\s[^;&|#\n]*)")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def harness_commands(documents: list[Any]) -> list[str]:
    found = []
    for text in (s for document in documents for s in strings(document)):
        for line in text.replace("\\\n", " ").splitlines():
            found += [match.strip() for match in COMMAND.findall(line)]
    return found


def github_commands() -> list[str]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return harness_commands([step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]])


def gitlab_commands() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", CI_DOC.read_text(), flags=re.S)
    return harness_commands([yaml.safe_load(block) for block in blocks])


COMMANDS = [("github", c) for c in github_commands()] + [("gitlab", c) for c in gitlab_commands()]


def argv(command: str) -> list[str]:
    words = shlex.split(os.path.expandvars(command))
    assert Path(words[0]).name == "harness", command
    return words[1:]


def test_both_examples_run_the_smoke_profile_gate_against_main_and_refresh_the_baseline():
    for source in ("github", "gitlab"):
        commands = [c for s, c in COMMANDS if s == source]
        assert any(" run --profile smoke" in c for c in commands), commands
        assert any(" gate reports/latest" in c and "--baseline main" in c and "--summary-md" in c for c in commands)
        assert any(" baseline save " in c and "--name main" in c for c in commands)
        assert any("--profile full" in c for c in commands)


@pytest.mark.parametrize(("source", "command"), COMMANDS, ids=[f"{s}:{c[:70]}" for s, c in COMMANDS])
def test_every_command_accepts_its_flags(source, command, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert main([*argv(command), "--help"]) == 0, capsys.readouterr().err


def profiles_exist_for(words: list[str]) -> None:
    """The profile named for the run exists for each suite that has profile files (load, contract)."""
    from harness.contract.profile import load_contract_profile
    from harness.load import load_profile

    profile = words[words.index("--profile") + 1]
    suites = [words[i + 1] for i, word in enumerate(words) if word == "--suite"] or ["load", "contract"]
    if "load" in suites:
        load_profile(profile)
    if "contract" in suites:
        load_contract_profile(profile)


@pytest.fixture
def ci_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout after the runs: reports where the examples expect them, the repo's policies, a baseline."""
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    suites = {"reports": ("load", "security"), "reports/smoke": ("load", "security"),
              "reports/full": ("security", "chaos"), "reports/stress": ("load",)}
    for folder, names in suites.items():
        run_dir = tmp_path / folder / "20260101T000000Z-ci"
        run_dir.mkdir(parents=True)
        checks = [make_check(f"{name}.example.check", Status.PASS) for name in names]
        (run_dir / "readiness.json").write_text(make_run(*checks).model_dump_json())
        (tmp_path / folder / "latest").symlink_to(run_dir.name)
    save_baseline(from_run(make_run(make_check("load.example.check")), "main"), tmp_path / ".harness-baselines")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return tmp_path


@pytest.mark.parametrize(("source", "command"), COMMANDS, ids=[f"{s}:{c[:70]}" for s, c in COMMANDS])
def test_every_command_runs_on_stand_in_reports(source, command, ci_workspace, monkeypatch, capsys):
    """`gate` and `baseline` for real; `run` up to the moment it would start pytest (flags, config, suites)."""
    launched: list[tuple[list[str], HarnessConfig]] = []  # pytest's arguments and the config handed to it whole
    monkeypatch.setattr("harness.cli._launch_pytest", lambda args, config: launched.append((args, config)) or 0)
    words = argv(command)
    code = main(words)
    assert code in (ExitCode.READY, ExitCode.NOT_READY), (code, capsys.readouterr())
    if words[0] == "run":
        assert launched and launched[0][1].profile == words[words.index("--profile") + 1]
        profiles_exist_for(words)
    if "--policy" in words:
        load_policy(Path(words[words.index("--policy") + 1]))
    if "--summary-md" in words:
        assert "Readiness gate" in Path(words[words.index("--summary-md") + 1]).read_text()
