"""Validate before anything starts: a bad profile, policy or experiment is exit 4, one line, no process.

Each case runs ``harness run`` in a fresh interpreter in which starting a process is impossible
(``subprocess``, ``fork`` and ``spawn`` raise), so a case that got as far as starting the reference
system, a load worker or anything else fails loudly. The time budget (2 s) is checked on the
child's CPU time, which a busy shared machine does not inflate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.exitcodes import ExitCode
from tests.conftest import REPO

CPU_BUDGET_S = 2.0
CHILD = textwrap.dedent("""
    import json, os, resource, subprocess, sys

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started before the input was validated: {args[:2]!r}")

    subprocess.Popen.__init__ = refuse
    os.fork = os.posix_spawn = os.posix_spawnp = os.system = refuse
    for name in ("execv", "execve", "execvp", "execvpe"):
        setattr(os, name, refuse)

    from harness.cli import main
    code = main(json.loads(sys.argv[1]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"exit": code, "cpu_s": usage.ru_utime + usage.ru_stime}))
""")


def harness_run(tmp_path: Path, *args: str) -> tuple[int, list[str], float]:
    """Exit code, stderr lines and CPU seconds of ``harness run ARGS`` started in ``tmp_path``."""
    state = tmp_path / "state"
    argv = ["run", "--report-dir", str(tmp_path / "reports"), *args]
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(argv)], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120,
                           env={**os.environ, "HARNESS_STATE_DIR": str(state), "PYTHONPATH": str(REPO)})
    assert "Traceback" not in child.stderr, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert not (tmp_path / "reports").exists() and not state.exists(), "nothing was written before the error"
    return result["exit"], child.stderr.strip().splitlines(), result["cpu_s"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


GOOD_EXPERIMENT = (REPO / "scenarios" / "chaos" / "gpu_loss.yaml").read_text()

CASES = {
    "unknown load profile": (["--suite", "load", "--profile", "nosuch"], {},
                             ["unknown load profile 'nosuch'", "known: breakpoint, smoke"]),
    "load profile with a YAML error": (["--suite", "load", "--profile", "bad.yaml"],
                                       {"bad.yaml": "name: bad\nstages: [{duration_s: 5, rate: 10}\n"},
                                       ["bad.yaml: not valid YAML at line 3"]),
    "load profile with a bad value": (["--suite", "load", "--profile", "neg.yaml"],
                                      {"neg.yaml": "stages: [{duration_s: 5, rate: -3}]\noperations: "
                                                   "[{name: h, path: /healthz}]\n"},
                                      ["neg.yaml", "stages.0.rate"]),
    "bad load override": (["--suite", "load", "--load-set", "stages.0.rate=fast"], {}, ["stages.0.rate"]),
    "unknown contract profile": (["--suite", "contract", "--profile", "stress"], {},
                                 ["contract profile 'stress' not found", "full, smoke"]),
    "missing policy file": (["--suite", "security", "--policy", "nope.yaml"], {},
                            ["policy file nope.yaml not found"]),
    "policy with a YAML error": (["--suite", "security", "--policy", "p.yaml"],
                                 {"p.yaml": "severity_threshold: [high\n"}, ["p.yaml: not valid YAML at line"]),
    "policy with an unknown severity": (["--suite", "security", "--policy", "p.yaml"],
                                        {"p.yaml": "severity_threshold: extreme\n"},
                                        ["p.yaml: severity_threshold", "allowed: info, low, medium, high, critical"]),
    "experiment with a YAML error": (["--suite", "chaos"], {"scenarios/chaos/broken.yaml": "title: [x\n"},
                                     ["broken.yaml: not valid YAML at line"]),
    "experiment with an unknown harness field": (
        ["--suite", "chaos"],
        {"scenarios/chaos/typo.yaml": GOOD_EXPERIMENT.replace("profiles: [smoke, full]",
                                                              "profiles: [smoke, full]\n    recover_whithin_s: 5")},
        ["typo.yaml: extensions.harness.recover_whithin_s: unknown key 'recover_whithin_s'"]),
    "experiment Chaos Toolkit refuses": (
        ["--suite", "chaos"],
        {"scenarios/chaos/nomethod.yaml": "title: no method\ndescription: x\nextensions: [{name: harness, "
                                          "fault: kill, target: gateway-1, profiles: [smoke]}]\n"},
        ["nomethod.yaml: not a valid Chaos Toolkit experiment"]),
    "experiment calling a helper that is no fault action": (
        ["--suite", "chaos"],
        {"scenarios/chaos/helper.yaml": GOOD_EXPERIMENT.replace("func: gpu_loss,", "func: _links,")
         .replace("arguments: {gpus: 0}", "arguments: {pattern: x}")},
        ["helper.yaml: harness.chaos.actions:_links is not a fault action"]),
    "claims file with a YAML error": (["--suite", "security", "--claims", "c.yaml"], {"c.yaml": "claims: [{id: x\n"},
                                      ["c.yaml: not valid YAML at line"]),
    "claims file with a bad number": (["--suite", "load", "--claims", "c.yaml"],
                                      {"c.yaml": "claims:\n  - {id: x, text: Rate limiting, verify: [security.*], "
                                                 "params: {rate_limit: {limit: -5, window_s: 60}}}\n"},
                                      ["c.yaml: claims.0.params.rate_limit.limit"]),
    "unknown config key in the environment": (["--suite", "load"], {}, ["HARNESS_FROBNICATE"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_4_with_one_line_before_anything_starts(case: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    args, files, wanted = CASES[case]
    for name, text in files.items():
        write(tmp_path / name, text)
    if case == "unknown config key in the environment":
        monkeypatch.setenv("HARNESS_FROBNICATE", "1")
    code, lines, cpu_s = harness_run(tmp_path, *args)
    assert code == ExitCode.USAGE_ERROR, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and all(w in lines[0] for w in wanted), lines[0]
    assert cpu_s < CPU_BUDGET_S, f"{cpu_s:.2f} s of CPU before the error"


def test_plain_pytest_refuses_a_bad_profile_before_collecting(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "suites" / "load"), "--profile", "nosuch",
                            "--report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider", "-q"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HARNESS_STATE_DIR": str(tmp_path / "state")})
    assert child.returncode == ExitCode.USAGE_ERROR
    assert child.stderr.strip().splitlines() == ["ERROR: unknown load profile 'nosuch'; known: breakpoint, smoke, "
                                                 "soak, spike, stress (or give a .yaml path)"]
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists()


def test_your_own_experiments_folder_replaces_the_shipped_one(tmp_path: Path) -> None:
    from harness.chaos.extension import EXPERIMENT_DIR, experiment_dir

    os.chdir(tmp_path)
    try:
        assert experiment_dir() == EXPERIMENT_DIR
        write(tmp_path / "scenarios" / "chaos" / "mine.yaml", GOOD_EXPERIMENT)
        assert experiment_dir() == tmp_path / "scenarios" / "chaos"
    finally:
        os.chdir(REPO)
