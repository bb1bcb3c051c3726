"""SARIF 2.1.0 output: the structure GitHub code scanning requires, and results at the operation's spec line."""

import json

import jsonschema

from harness.contract.findings import SECURITY_REFS
from harness.events import CheckRecorded, FindingReported
from harness.model import EnvironmentInfo, Finding, RunResult, Severity, Status, TargetInfo
from harness.openapi_file import save_pretty
from harness.report.sarif import SarifWriter
from harness.run_context import fold
from harness.security.probes.authz import BOLA
from harness.security.probes.headers import HSTS
from harness.security.record import judge_outcomes, to_finding
from harness.security.registry import load_all_rules

# The parts of the OASIS SARIF 2.1.0 schema that code-scanning uploads depend on (the full schema is not
# available offline, nor shipped by any installed package); every "required" list and constraint below is
# copied from sarif-schema-2.1.0.json. tests/security/test_suite_end_to_end.py validates a real run with it.
SARIF_CORE_SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "items": {
            "type": "object", "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"rules": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"shortDescription": {"type": "object", "required": ["text"]},
                                       "help": {"type": "object", "required": ["text"]},
                                       "properties": {"type": "object",
                                                      "required": ["security-severity"],
                                                      "properties": {"security-severity": {
                                                          "type": "string", "pattern": r"^\d+(\.\d+)?$"}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message", "ruleId", "locations", "partialFingerprints"],
                    "properties": {
                        "message": {"type": "object", "required": ["text"]},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "locations": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["physicalLocation"],
                            "properties": {"physicalLocation": {
                                "type": "object", "required": ["artifactLocation", "region"],
                                "properties": {"region": {"type": "object", "required": ["startLine"],
                                                          "properties": {"startLine": {"type": "integer",
                                                                                       "minimum": 1}}}}}}}}}}}}}}},
}

SPEC = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/things": {"get": {"responses": {}}},
                  "/things/{thing_id}": {"get": {"responses": {}}, "delete": {"responses": {}}}}}


def run_with_findings() -> RunResult:
    run = RunResult(run_id="r1", environment=EnvironmentInfo(harness_version="0", python="3.11", platform="linux",
                                                             hostname="h", cpu_count=2),
                    target=TargetInfo(platform="local"))
    suite = run.suite("security")
    suite.findings.append(to_finding(BOLA.failed("globex_user got 200", location="DELETE /things/{thing_id}",
                                                 parameter="thing_id")))
    suite.findings.append(to_finding(HSTS.failed("no header")))
    return run


def test_sarif_matches_the_core_schema_and_locates_operations(tmp_path):
    _, lines = save_pretty(SPEC, tmp_path)
    path = SarifWriter(load_all_rules()).write(run_with_findings(), tmp_path)
    document = json.loads(path.read_text())
    jsonschema.validate(document, SARIF_CORE_SCHEMA)
    results = document["runs"][0]["results"]
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    bola = next(r for r in results if r["ruleId"] == "security.authz.bola")
    assert bola["locations"][0]["physicalLocation"]["region"]["startLine"] == lines["DELETE /things/{thing_id}"]
    spec_line = (tmp_path / "openapi.json").read_text().splitlines()[lines["DELETE /things/{thing_id}"] - 1]
    assert spec_line.strip().startswith('"delete"')
    assert bola["level"] == "error" and rules[bola["ruleIndex"]]["id"] == "security.authz.bola"
    assert rules[bola["ruleIndex"]]["properties"]["security-severity"] == "9.5"
    hsts = next(r for r in results if r["ruleId"] == "security.headers.hsts")
    assert hsts["level"] == "warning"
    assert hsts["locations"][0]["physicalLocation"]["region"]["startLine"] == 1  # no operation: top of the spec


def contract_finding(check: str, severity: Severity) -> Finding:
    """A contract-suite finding as harness.contract.findings.to_finding writes it (refs from SECURITY_REFS)."""
    owasp, cwe = SECURITY_REFS.get(check, ([], []))
    return Finding(fingerprint=Finding.make_fingerprint(check), check_id=f"contract.get_things.{check}",
                   suite="contract", title=f"GET /things: {check}", severity=severity, location="GET /things",
                   owasp=owasp, cwe=cwe)


def test_only_security_relevant_contract_findings_reach_sarif(tmp_path):
    run = run_with_findings()
    contract = run.suite("contract")
    contract.findings += [contract_finding("ignored_auth", Severity.HIGH),
                          contract_finding("response_schema_conformance", Severity.MEDIUM)]
    _, lines = save_pretty(SPEC, tmp_path)
    document = json.loads(SarifWriter(load_all_rules()).write(run, tmp_path).read_text())
    jsonschema.validate(document, SARIF_CORE_SCHEMA)
    results = {r["ruleId"]: r for r in document["runs"][0]["results"]}
    assert set(results) == {"security.authz.bola", "security.headers.hsts", "contract.get_things.ignored_auth"}
    ignored_auth = results["contract.get_things.ignored_auth"]
    assert ignored_auth["properties"]["suite"] == "contract"
    assert ignored_auth["locations"][0]["physicalLocation"]["region"]["startLine"] == lines["GET /things"]
    rule = document["runs"][0]["tool"]["driver"]["rules"][ignored_auth["ruleIndex"]]
    assert "OWASP-API2:2023" in rule["properties"]["tags"] and "external/cwe/cwe-287" in rule["properties"]["tags"]


def test_fingerprints_in_sarif_are_stable_across_runs(tmp_path):
    first = json.loads(SarifWriter(load_all_rules()).write(run_with_findings(), tmp_path).read_text())
    second = json.loads(SarifWriter(load_all_rules()).write(run_with_findings(), tmp_path).read_text())
    prints = [[r["partialFingerprints"] for r in doc["runs"][0]["results"]] for doc in (first, second)]
    assert prints[0] == prints[1] and len({json.dumps(p) for p in prints[0]}) == 2


def test_every_rule_has_owasp_cwe_and_help():
    rules = load_all_rules()
    assert len(rules) >= 40
    for rule in rules.values():
        assert rule.owasp and all(o.endswith(":2023") for o in rule.owasp), rule.id
        assert rule.cwe and all(c.startswith("CWE-") for c in rule.cwe), rule.id
        assert len(rule.help) > 20, rule.id


def test_outcomes_become_a_check_each_and_one_finding_per_fingerprint_in_the_run():
    run = run_with_findings()
    run.suite("security").findings.clear()
    outcomes = [BOLA.failed("x", location="GET /things/{thing_id}", parameter="thing_id"),
                BOLA.failed("x again", location="GET /things/{thing_id}", parameter="thing_id"),
                HSTS.passed("fine")]
    checks, findings = judge_outcomes(outcomes)
    assert [c.status for c in checks] == [Status.FAIL, Status.FAIL, Status.PASS]
    assert checks[0].owasp == ["API1:2023"] and checks[0].cwe == ["CWE-639"] and checks[0].suite == "security"
    assert len(findings) == 2  # the library reports both; the run keeps one per fingerprint
    for event in [*(CheckRecorded(check=c) for c in checks), *(FindingReported(finding=f) for f in findings)]:
        fold(run, event)
    suite = run.suite("security")
    assert len(suite.checks) == 3
    assert len(suite.findings) == 1 and suite.findings[0].location == "GET /things/{thing_id} [thing_id]"


def test_plugin_module_describes_every_probe_rule_for_sarif():
    import pluggy

    from harness import hookspecs
    from harness.security import plugin

    manager = pluggy.PluginManager("harness")
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name="security-rules")
    [rules] = manager.hook.harness_sarif_rules()
    assert rules == load_all_rules() and rules["security.authz.bola"].title.startswith("Users cannot touch")
