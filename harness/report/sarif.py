"""``findings.sarif``: SARIF 2.1.0 for the run's findings (GitHub code scanning, Azure DevOps, IDE viewers).

Hand-written: the document is small and its required shape is fixed by the OASIS schema (``sarif-om``
models it but is unmaintained and writes camelCase only through extra glue). Results point at the
operation's line in the ``openapi.json`` the suite saved in the run folder.

Every security-suite finding is a result; other suites' findings only when they are security findings
(an OWASP reference, as the contract suite gives ``ignored_auth`` or ``object_level_authorization``):
a schema drift is a contract problem, not a code-scanning alert.

Rule texts (``tool.driver.rules``) come from the rule catalogues plugins publish through the
``harness_sarif_rules`` hook (the security suite's probes); a finding of a rule nobody describes
gets one made from the finding itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from harness import __version__
from harness.model import Finding, RunResult, Severity
from harness.openapi_file import SPEC_FILE, operation_lines
from harness.report.writer import FileWriter

SARIF_FILE = "findings.sarif"

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                     Severity.INFO: "0.0"}
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "warning",
         Severity.INFO: "note"}


class RuleText(Protocol):
    """What SARIF says about a rule (``harness.security.catalog.Rule`` is one)."""

    @property
    def title(self) -> str: ...
    @property
    def help(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def owasp(self) -> tuple[str, ...]: ...
    @property
    def cwe(self) -> tuple[str, ...]: ...


def sarif_rule(rule_id: str, catalog: Mapping[str, RuleText], finding: Finding | None = None) -> dict[str, Any]:
    known = catalog.get(rule_id)
    title = known.title if known else (finding.title if finding else rule_id)
    help_text = known.help if known else "See the check's evidence in readiness.html."
    severity = known.severity if known else (finding.severity if finding else Severity.MEDIUM)
    owasp = list(known.owasp if known else (finding.owasp if finding else []))
    cwe = list(known.cwe if known else (finding.cwe if finding else []))
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.replace("-", "_").replace(".", "_").split("_")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title}. {help_text}"},
        "help": {"text": help_text, "markdown": f"**{title}**\n\n{help_text}\n\nReferences: {', '.join(owasp + cwe)}"},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity], "precision": "high",
                       "tags": ["security", *[f"OWASP-{o.split()[0]}" for o in owasp],
                                *[f"external/cwe/{c.lower()}" for c in cwe]]},
    }


def is_security_relevant(finding: Finding) -> bool:
    return finding.suite == "security" or bool(finding.owasp)


def sarif_document(run: RunResult, spec_lines: dict[str, int] | None = None,
                   catalog: Mapping[str, RuleText] | None = None) -> dict[str, Any]:
    findings = [f for f in run.all_findings() if is_security_relevant(f)]
    catalog = catalog or {}
    rule_ids = sorted({f.check_id for f in findings})
    rules = [sarif_rule(rule_id, catalog, next(f for f in findings if f.check_id == rule_id)) for rule_id in rule_ids]
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    for finding in findings:
        match = re.match(r"[A-Z]+ \S+", finding.location)
        operation = match.group(0) if match else ""
        line = (spec_lines or {}).get(operation, 1)
        message = finding.title + (f" ({finding.location})" if finding.location else "")
        if finding.evidence.curl:
            message += f". Reproduce: {finding.evidence.curl}"
        results.append({
            "ruleId": finding.check_id,
            "ruleIndex": index[finding.check_id],
            "level": LEVEL[finding.severity],
            "message": {"text": message[:2000]},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": SPEC_FILE, "uriBaseId": "RUNDIR"},
                                                "region": {"startLine": line}},
                           "logicalLocations": [{"name": operation or "API", "kind": "function"}]}],
            "partialFingerprints": {"harnessFindingFingerprint/v1": finding.fingerprint},
            "properties": {"severity": finding.severity.value, "suite": finding.suite,
                           "security-severity": SECURITY_SEVERITY[finding.severity],
                           "measured": finding.evidence.measured},
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "readiness-harness", "version": __version__, "rules": rules}},
            "automationDetails": {"id": f"readiness/{run.run_id}"},
            "originalUriBaseIds": {"RUNDIR": {"description": {"text": "the run's report folder"}}},
            "results": results,
        }],
    }


class SarifWriter(FileWriter):
    """Writes ``findings.sarif`` next to ``readiness.json``; ``rules`` describe the findings' check ids."""

    name = "sarif"
    file_name = SARIF_FILE

    def __init__(self, rules: Mapping[str, RuleText] | None = None) -> None:
        super().__init__()
        self.rules = dict(rules or {})

    def write(self, run: RunResult, folder: Path) -> Path:
        spec = folder / SPEC_FILE
        lines = operation_lines(spec.read_text()) if spec.is_file() else {}
        path = folder / SARIF_FILE
        path.write_text(json.dumps(sarif_document(run, lines, self.rules), indent=2, default=str) + "\n")
        return path
