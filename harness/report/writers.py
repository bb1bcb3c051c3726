"""Built-in writers (JSON, HTML, JUnit) and the loop that runs every reporter."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.etree import ElementTree as ET

from harness.hookspecs import Reporter
from harness.model import RunResult, Status

log = logging.getLogger(__name__)

READINESS_JSON = "readiness.json"
READINESS_HTML = "readiness.html"
JUNIT_XML = "junit.xml"


class JsonReporter:
    name = "json"

    def write(self, run: RunResult, folder: Path) -> Path:
        path = folder / READINESS_JSON
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(run.model_dump_json(indent=2))
        tmp.replace(path)  # readers never see a half-written report
        return path


class HtmlReporter:
    name = "html"

    def write(self, run: RunResult, folder: Path) -> Path:
        from harness.report.html import render_html

        path = folder / READINESS_HTML
        path.write_text(render_html(run))
        return path


class JUnitReporter:
    """One ``testcase`` per check, grouped in one ``testsuite`` per harness suite."""

    name = "junit"

    def write(self, run: RunResult, folder: Path) -> Path:
        root = ET.Element("testsuites", name=f"readiness {run.run_id}")
        for suite in run.suites:
            counts = suite.counts()
            element = ET.SubElement(
                root,
                "testsuite",
                name=suite.name,
                tests=str(len(suite.checks)),
                failures=str(counts["fail"]),
                errors=str(counts["error"]),
                skipped=str(counts["skipped"] + counts["not_applicable"] + counts["waived"] + counts["inconclusive"]),
                time=f"{suite.duration_s:.3f}",
            )
            for check in suite.checks:
                case = ET.SubElement(
                    element, "testcase", classname=f"{suite.name}.{check.category}", name=check.id,
                    time=f"{check.duration_s:.3f}",
                )
                detail = check.message or check.title
                if check.status == Status.FAIL:
                    ET.SubElement(case, "failure", message=detail, type=check.severity.value).text = _evidence_text(check)
                elif check.status == Status.ERROR:
                    ET.SubElement(case, "error", message=detail).text = _evidence_text(check)
                elif check.status in (Status.SKIPPED, Status.NOT_APPLICABLE, Status.WAIVED, Status.INCONCLUSIVE):
                    ET.SubElement(case, "skipped", message=f"{check.status.value}: {detail}")
        path = folder / JUNIT_XML
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
        return path


def _evidence_text(check) -> str:  # type: ignore[no-untyped-def]
    lines = [f"{k} = {v}" for k, v in check.evidence.measured.items()]
    if check.evidence.curl:
        lines.append(f"reproduce: {check.evidence.curl}")
    return "\n".join(lines)


def builtin_reporters() -> list[Reporter]:
    return [JsonReporter(), HtmlReporter(), JUnitReporter()]


def write_reports(run: RunResult, folder: Path, extra: list[Reporter] | None = None) -> list[Path]:
    """Write JSON first (the source of truth), then every other reporter.

    A failing extra reporter is logged and skipped: it must never cost the user the JSON report.
    """
    written: list[Path] = []
    for reporter in [*builtin_reporters(), *(extra or [])]:
        try:
            written.append(reporter.write(run, folder))
        except Exception:
            if reporter.name == "json":
                raise
            log.exception("reporter %s failed; the JSON report is still complete", reporter.name)
    return written
