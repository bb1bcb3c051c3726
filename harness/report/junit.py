"""``junit.xml``: one ``testcase`` per check, grouped in one ``testsuite`` per harness suite."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from harness.model import Check, RunResult, Status
from harness.report.writer import FileWriter

JUNIT_XML = "junit.xml"


class JUnitWriter(FileWriter):
    """One ``testcase`` per check, grouped in one ``testsuite`` per harness suite.

    Checks run only with a claim's own numbers (``claim_only``) are left out: they decide claims (in the
    JSON and HTML reports, and for the gate), not the run that CI's test view shows.
    """

    name = "junit"
    file_name = JUNIT_XML

    def write(self, run: RunResult, folder: Path) -> Path:
        root = ET.Element("testsuites", name=f"readiness {run.run_id}")
        for whole in run.suites:
            suite = whole.model_copy(update={"checks": [c for c in whole.checks if not c.claim_only]})
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


def _evidence_text(check: Check) -> str:
    lines = [f"{k} = {v}" for k, v in check.evidence.measured.items()]
    if check.evidence.curl:
        lines.append(f"reproduce: {check.evidence.curl}")
    return "\n".join(lines)
