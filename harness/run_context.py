"""The run being recorded: checks, suite extras, fault timeline, and the report folder."""

from __future__ import annotations

import os
import platform as host_platform
import socket
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config import HarnessConfig
from harness.model import (
    Check,
    EnvironmentInfo,
    FaultInjection,
    RunResult,
    SuiteResult,
    TargetInfo,
    utcnow,
)
from harness.report import new_run_id, prepare_run_folder, update_latest, write_reports
from harness.gate.evaluate import GateResult, apply_gate
from harness.gate.policy import Policy, load_policy

REPORTED_PACKAGES = ["pytest", "locust", "schemathesis", "chaostoolkit-lib", "httpx", "pydantic", "hypothesis"]


def package_versions(names: list[str] = REPORTED_PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def environment_info(extra: dict[str, Any] | None = None) -> EnvironmentInfo:
    return EnvironmentInfo(
        harness_version=__version__,
        python=sys.version.split()[0],
        platform=host_platform.platform(),
        hostname=socket.gethostname(),
        cpu_count=os.cpu_count() or 1,
        packages=package_versions(),
        extra=extra or {},
    )


def detect_trigger() -> str:
    if os.environ.get("HARNESS_TRIGGER"):
        return os.environ["HARNESS_TRIGGER"]
    return "ci" if os.environ.get("CI") else "pytest"


class RunContext:
    """Collects everything suites produce during one pytest session, then writes the report."""

    def __init__(self, config: HarnessConfig, *, run_id: str | None = None) -> None:
        self.config = config
        self.run_id = run_id or os.environ.get("HARNESS_RUN_ID") or new_run_id()
        self.report_dir = config.report_dir
        self.run_dir = prepare_run_folder(config.report_dir, self.run_id)
        self.result = RunResult(
            run_id=self.run_id,
            trigger=detect_trigger(),
            environment=environment_info(),
            target=TargetInfo(platform=config.platform.value, base_url=config.target_url, defects=config.defects),
            profile=config.profile,
        )
        self.checks_by_test: dict[str, list[Check]] = defaultdict(list)
        self._lock = threading.Lock()  # checks may be recorded from helper threads
        self._progress: Callable[[str], None] = lambda text: None

    def progress(self, text: str) -> None:
        """One status line on the terminal during long work (call from the test's own thread)."""
        self._progress(text)

    def set_progress_writer(self, writer: Callable[[str], None]) -> None:
        self._progress = writer

    # -- recording ------------------------------------------------------------------
    def suite(self, name: str) -> SuiteResult:
        with self._lock:
            return self.result.suite(name)

    def record(self, check: Check, nodeid: str | None = None) -> Check:
        with self._lock:
            self.result.suite(check.suite).checks.append(check)
            if nodeid:
                self.checks_by_test[nodeid].append(check)
        return check

    def add_fault(self, fault: FaultInjection) -> None:
        with self._lock:
            self.result.timeline.append(fault)

    def set_target(self, base_url: str, openapi_url: str | None) -> None:
        self.result.target.base_url = base_url
        self.result.target.openapi_url = openapi_url

    def add_environment(self, facts: dict[str, Any]) -> None:
        self.result.environment.extra.update({k: v for k, v in facts.items() if v is not None})

    # -- finishing ------------------------------------------------------------------
    def policy(self) -> Policy:
        """The run's gate policy (validated when the run started), else the configured severity threshold."""
        if self.config.policy:
            return load_policy(self.config.policy)
        return Policy(severity_threshold=self.config.severity_threshold)

    def finish(self, *, aborted_reason: str | None = None, extra_reporters: list | None = None) -> GateResult:
        """Stamp end times, judge by the run's policy, write every report, move ``latest``. Safe to call once."""
        now = utcnow()
        self.result.finished_at = now
        for suite in self.result.suites:
            suite.finished_at = suite.finished_at or now
        if aborted_reason:
            self.result.aborted_reason = aborted_reason
        self.result.environment_fingerprint = self.result.environment.fingerprint()
        judgement = apply_gate(self.result, self.policy(), str(self.config.policy or "default"))
        write_reports(self.result, self.run_dir, extra_reporters)
        update_latest(self.report_dir, self.run_dir)
        return judgement


def relative_to_cwd(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
