"""Report writers: event handlers that render the finished ``RunResult``, one file each.

``readiness.json`` (``json_writer``), ``readiness.html`` (``html``), ``junit.xml`` (``junit``),
``findings.sarif`` (``sarif``); ``terminal`` shows progress lines while the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.model import RunResult
from harness.report.folder import new_run_id, prepare_run_folder, update_latest
from harness.report.html import HtmlWriter
from harness.report.json_writer import JsonWriter
from harness.report.junit import JUnitWriter
from harness.report.sarif import RuleText, SarifWriter
from harness.report.writer import FileWriter, Reporter

__all__ = ["FileWriter", "ReporterWriter", "builtin_writers", "new_run_id", "prepare_run_folder", "update_latest"]


def builtin_writers(sarif_rules: Mapping[str, RuleText] | None = None) -> list[FileWriter]:
    """JSON first (the source of truth), then HTML, JUnit and SARIF."""
    return [JsonWriter(), HtmlWriter(), JUnitWriter(), SarifWriter(sarif_rules)]


class ReporterWriter(FileWriter):
    """A plugin's ``Reporter`` (``harness_make_reporters`` hook) as an event handler."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self.reporter = reporter
        self.name = reporter.name

    def write(self, run: RunResult, folder: Path) -> Path:
        return self.reporter.write(run, folder)
