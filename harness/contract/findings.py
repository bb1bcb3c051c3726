"""From one schemathesis check failure to a deduplicated ``Finding`` with a curl reproduction.

The fingerprint hashes what identifies the defect and nothing that varies between runs:
operation, check, schemathesis failure code, response status, and the *keys* of the minimized
input (which locations carry which declared names). Values, their JSON types and generated junk
stay out of it: the same crash reached with ``quantity: 0``, ``0.0`` or ``false`` is one defect.
The typed shape is kept as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.model import Evidence, Finding, Sample, Severity

# Security-relevant schemathesis checks → (OWASP API Security Top 10 2023, CWE).
SECURITY_REFS: dict[str, tuple[list[str], list[str]]] = {
    "ignored_auth": (["API2:2023 Broken Authentication"], ["CWE-287"]),
    "object_level_authorization": (["API1:2023 Broken Object Level Authorization"], ["CWE-639"]),
    "use_after_free": (["API1:2023 Broken Object Level Authorization"], ["CWE-672"]),
    "negative_data_rejection": (["API8:2023 Security Misconfiguration"], ["CWE-20"]),
    "not_a_server_error": ([], ["CWE-755"]),
}
FILTERED_AUTH = re.compile(r"-H '(Authorization): \[Filtered\]'")
COOKIE_HEADER = re.compile(r"-H 'Cookie: ([^']*)'", re.IGNORECASE)
TOKEN_PLACEHOLDER = "HARNESS_TOKEN"


@dataclass
class FailureRecord:
    """One failed check as schemathesis reported it, flattened to plain data."""

    operation: str  # "POST /items"
    check: str
    code: str  # schemathesis failure code, e.g. ST101
    title: str
    message: str
    severity: str  # schemathesis severity: critical | high | medium | low
    phase: str
    curl_steps: list[str]
    identity: str | None
    input_shape: str  # with JSON types and a +undeclared marker: evidence
    input_keys: str  # declared names only: part of the fingerprint
    status_code: int | None
    response_excerpt: str
    elapsed_ms: float | None
    conditions: list[str] = field(default_factory=list)  # scenario facts a noise rule's `when` can name
    noise_reason: str | None = None
    occurrences: int = 1
    extra_inputs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What noise rules' ``match`` sees: failure title, message and the response excerpt."""
        return f"{self.title}\n{self.message}\n{self.response_excerpt}"

    def fingerprint(self) -> str:
        return Finding.make_fingerprint(
            "contract", self.operation, self.check, self.code, str(self.status_code), self.input_keys
        )


JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
              (dict, "object"), (type(None), "null"))


def json_type(value: Any) -> str:
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), "bytes")


def _names(present: Any, declared: set[str], fold_case: bool = False, junk: bool = True) -> str:
    """Declared names present, sorted, plus (``junk``) one ``+undeclared`` marker for any generated extras."""
    fold = (lambda n: n.lower()) if fold_case else (lambda n: n)
    declared = {fold(n) for n in declared}
    names = {fold(n) for n in present} - {"authorization", "content-type"}
    shown = sorted(names & declared) + (["+undeclared"] if junk and names - declared else [])
    return ",".join(shown)


def case_keys(case: Any) -> str:
    """The fingerprint's part of the input: which declared names each location carries, nothing else."""
    return case_shape(case, detailed=False)


def case_shape(case: Any, *, detailed: bool = True) -> str:
    """The minimized input's *shape*: which declared inputs are present and, for the body, their JSON types.

    Values never enter it, and generated junk (undeclared keys or headers) collapses into one marker.
    Without ``detailed``, JSON types and the marker are left out too (see ``case_keys``).
    """
    operation = case.operation
    parts = []
    for location, attribute, fold in (("path", "path_parameters", False), ("query", "query", False),
                                      ("headers", "headers", True), ("cookies", "cookies", False)):
        present = getattr(case, attribute, None) or {}
        declared = {p.name for p in getattr(operation, attribute, [])}
        names = _names(present, declared, fold, junk=detailed)
        if names:
            parts.append(f"{location}={names}")
    body = getattr(case, "body", None)
    if body is not None and type(body).__name__ != "NotSet":
        if isinstance(body, dict):
            declared = set()
            for alternative in getattr(operation, "body", []):
                declared |= set((getattr(alternative, "optimized_schema", None) or {}).get("properties", {}))
            keys = sorted(set(body) & declared)
            typed = ",".join(f"{k}:{json_type(body[k])}" if detailed else k for k in keys)
            parts.append("body={" + typed + (",+undeclared" if detailed and set(body) - declared else "") + "}")
        else:
            parts.append(f"body={json_type(body)}")
    return ";".join(parts)


def replayable_curl(curl: str, identity: str | None) -> str:
    """Swap schemathesis' ``[Filtered]`` credential for ``$HARNESS_TOKEN`` and say whose token it needs.

    A ``Cookie`` header becomes curl's ``-b`` (same request), so evidence redaction of ``Cookie:``
    lines cannot swallow the rest of the command.
    """
    curl = COOKIE_HEADER.sub(lambda m: f"-b '{m.group(1)}'", curl)
    if not FILTERED_AUTH.search(curl):
        return curl
    replayable = FILTERED_AUTH.sub(lambda m: f'-H "{m.group(1)}: Bearer ${TOKEN_PLACEHOLDER}"', curl)
    who = f" as {identity}" if identity else ""
    return f"# log in{who} and export {TOKEN_PLACEHOLDER}=<access_token>\n{replayable}"


def merge_duplicates(records: list[FailureRecord]) -> list[FailureRecord]:
    """One record per fingerprint and noise verdict (the first, shortest reproduction wins); repeats are counted.

    Noise and defects never merge: a real failure sharing a fingerprint with an earlier known-noise
    one (e.g. the same 400 once with the framework's message, once without) stays a defect.
    """
    by_fingerprint: dict[tuple[str, str | None], FailureRecord] = {}
    for record in records:
        key = (record.fingerprint(), record.noise_reason)
        kept = by_fingerprint.get(key)
        if kept is None:
            by_fingerprint[key] = record
            continue
        kept.occurrences += 1
        if len(record.curl_steps) < len(kept.curl_steps):  # prefer the shorter chain as reproduction
            record.occurrences, record.extra_inputs = kept.occurrences, kept.extra_inputs
            by_fingerprint[key] = kept = record
        if len(kept.extra_inputs) < 3 and record.curl_steps and record.curl_steps[-1] not in kept.extra_inputs:
            kept.extra_inputs.append(record.curl_steps[-1])
    return list(by_fingerprint.values())


def harness_severity(schemathesis_severity: str, check: str) -> Severity:
    if check in ("ignored_auth", "object_level_authorization"):
        return Severity.HIGH
    return {"critical": Severity.HIGH, "high": Severity.MEDIUM, "medium": Severity.MEDIUM,
            "low": Severity.LOW}.get(schemathesis_severity, Severity.MEDIUM)


def to_finding(record: FailureRecord, check_id: str) -> Finding:
    owasp, cwe = SECURITY_REFS.get(record.check, ([], []))
    curl = "\n".join(record.curl_steps)
    return Finding(
        fingerprint=record.fingerprint(),
        check_id=check_id,
        suite="contract",
        title=f"{record.operation}: {record.title} ({record.check})",
        severity=harness_severity(record.severity, record.check),
        location=record.operation,
        owasp=owasp,
        cwe=cwe,
        evidence=Evidence(
            measured={"occurrences": record.occurrences, "schemathesis_code": record.code, "phase": record.phase,
                      "input_shape": record.input_shape, "other_inputs": record.extra_inputs},
            samples=[Sample(request=curl, status_code=record.status_code,
                            response_excerpt=record.response_excerpt, elapsed_ms=record.elapsed_ms)],
            curl=curl,
            notes=record.message[:1500] or record.title,
        ),
    )
