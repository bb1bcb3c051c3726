"""What the ``record_check`` and ``record_finding`` fixtures hand a suite test: the public API for results.

Both accept a ready model object (what suite libraries return: ``LoadResult.to_checks()``,
``ExperimentReport.checks()``, ``harness.contract.findings(run)``) or the fields as keywords. They
stamp the suite the test belongs to and its node id, and emit ``CheckRecorded`` / ``FindingReported``
on the run (``harness.events``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.events import CheckRecorded, FindingReported
from harness.model import Check, Evidence, Finding, Severity, Status
from harness.run_context import RunContext


def suite_name_for(item: pytest.Item) -> str:
    """Which suite a test's checks belong to: marker, registered suite folder, or its folder."""
    marker = item.get_closest_marker("harness_suite")
    if marker and marker.args:
        return str(marker.args[0])
    path = Path(str(item.path)).resolve()
    try:
        from harness.plugins import registered_suites

        for spec in registered_suites().values():
            if spec.path.resolve() in path.parents:
                return spec.name
    except HarnessError:
        pass
    parts = path.parts
    if "suites" in parts[:-1]:
        return parts[parts.index("suites") + 1]
    return slug(path.parent.name)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"


class CheckRecorder:
    """``record_check(check)`` or ``record_check(id=..., title=..., status=..., ...)``: records one check.

    The check is attributed to the test's suite and node id; its duration is the time since the test
    started (or since the previous check), unless the check carries one. Plugins may change it
    (``harness_modify_check``) before it is recorded. Returns the check as recorded.
    """

    def __init__(self, context: RunContext, item: pytest.Item) -> None:
        self._context = context
        self._item = item
        self.suite = suite_name_for(item)
        self._started = time.monotonic()

    def __call__(
        self,
        check: Check | None = None,
        /,
        *,
        id: str | None = None,
        title: str | None = None,
        status: Status | str | None = None,
        severity: Severity | str = Severity.MEDIUM,
        category: str = "general",
        message: str = "",
        evidence: Evidence | dict[str, Any] | None = None,
        claims: list[str] | None = None,
        claim_only: bool = False,
        owasp: list[str] | None = None,
        cwe: list[str] | None = None,
        duration_s: float | None = None,
    ) -> Check:
        elapsed = time.monotonic() - self._started
        if check is None:
            if id is None or title is None or status is None:
                raise TypeError("record_check needs a Check, or at least id=, title= and status=")
            check = Check(id=id, suite=self.suite, category=category, title=title, severity=Severity(severity),
                          status=Status(status), message=message, evidence=evidence or Evidence(),
                          claims=claims or [], claim_only=claim_only, owasp=owasp or [], cwe=cwe or [],
                          duration_s=duration_s if duration_s is not None else elapsed)
        elif not check.duration_s:
            check = check.model_copy(update={"duration_s": elapsed})
        check = check.model_copy(update={"suite": self.suite, "test_nodeid": self._item.nodeid})
        from harness.plugins import plugin_manager

        for changed in plugin_manager().hook.harness_modify_check(check=check, config=self._context.config):
            if changed is not None:
                check = changed
        self._started = time.monotonic()
        self._context.emit(CheckRecorded(check=check))
        return check

    @property
    def recorded(self) -> list[Check]:
        return list(self._context.checks_by_test.get(self._item.nodeid, []))


class FindingRecorder:
    """``record_finding(finding)`` or ``record_finding(check_id=..., title=..., severity=..., ...)``.

    A finding is a defect with a stable fingerprint (baselines, SARIF); give one that hashes only what
    identifies the defect, never times or tokens (default: the check id and the location). The same
    fingerprint twice in one suite is recorded once.
    """

    def __init__(self, context: RunContext, item: pytest.Item) -> None:
        self._context = context
        self.suite = suite_name_for(item)

    def __call__(
        self,
        finding: Finding | None = None,
        /,
        *,
        check_id: str | None = None,
        title: str | None = None,
        severity: Severity | str = Severity.MEDIUM,
        location: str = "",
        owasp: list[str] | None = None,
        cwe: list[str] | None = None,
        evidence: Evidence | dict[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> Finding:
        if finding is None:
            if check_id is None or title is None:
                raise TypeError("record_finding needs a Finding, or at least check_id= and title=")
            finding = Finding(fingerprint=fingerprint or Finding.make_fingerprint(check_id, location),
                              check_id=check_id, suite=self.suite, title=title, severity=Severity(severity),
                              location=location, owasp=owasp or [], cwe=cwe or [], evidence=evidence or Evidence())
        finding = finding.model_copy(update={"suite": self.suite})
        self._context.emit(FindingReported(finding=finding))
        return finding
