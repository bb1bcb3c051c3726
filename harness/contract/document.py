"""Load the target's OpenAPI document and judge the document itself before fuzzing it.

Loading and meta-schema validation are schemathesis' own (``openapi.from_url``/``from_path`` and
``schema.validate()``, which validates against the OpenAPI 3.0/3.1 JSON Schema); the harness adds
the few checks that decide whether fuzzing results can be trusted: every operation documents a
success response, operationIds are unique, and links exist for the stateful phase.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass
class SpecProblem:
    """One verdict about the document: ``check`` is the last part of the Check id."""

    check: str
    title: str
    ok: bool | None  # None: not applicable
    message: str
    severity: str = "medium"
    details: list[str] = field(default_factory=list)


@dataclass
class SpecReport:
    location: str
    schema: Any | None = None  # schemathesis BaseSchema, when it loaded
    raw: dict[str, Any] = field(default_factory=dict)
    load_error: str | None = None
    verdicts: list[SpecProblem] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [f"{method.upper()} {path}" for path, method, _ in iter_operations(self.raw)]


def iter_operations(raw: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, item in (raw.get("paths") or {}).items():
        for method, operation in (item or {}).items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                out.append((path, method, operation))
    return out


def load_spec(location: str | Path, config: Any) -> SpecReport:
    """Load with schemathesis and judge the document; a load failure is reported, not raised."""
    report = SpecReport(location=str(location))
    try:
        if str(location).startswith(("http://", "https://")):
            schema = schemathesis.openapi.from_url(str(location), config=config, timeout=10)
        else:
            schema = schemathesis.openapi.from_path(location, config=config)
    except Exception as exc:  # noqa: BLE001 - any loader failure is a verdict about the target
        report.load_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        report.verdicts.append(SpecProblem("loadable", "OpenAPI document loads", False,
                                           f"cannot load {location}: {report.load_error}", severity="high"))
        return report
    report.schema = schema
    report.raw = schema.raw_schema
    report.verdicts.append(SpecProblem("loadable", "OpenAPI document loads", True,
                                       f"{len(report.operations)} operations"))
    report.verdicts.extend(judge_document(report.raw, schema))
    return report


def judge_document(raw: dict[str, Any], schema: Any) -> list[SpecProblem]:
    return [_valid(schema), _success_documented(raw), _unique_operation_ids(raw), _links(raw)]


def _valid(schema: Any) -> SpecProblem:
    title = "OpenAPI document is valid against the OpenAPI meta-schema"
    try:
        schema.validate()
    except Exception as exc:  # noqa: BLE001 - jsonschema_rs.ValidationError; message is what matters
        # a JSON pointer (RFC 6901): "/paths/~1items/get", so a path's own slashes stay readable
        where = "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in getattr(exc, "instance_path", []) or [])
        return SpecProblem("valid", title, False, f"at /{where}: {getattr(exc, 'message', exc)}"[:800],
                           severity="medium")
    return SpecProblem("valid", title, True, "valid")


def _success_documented(raw: dict[str, Any]) -> SpecProblem:
    missing = [f"{m.upper()} {p}" for p, m, op in iter_operations(raw)
               if not any(str(code).startswith("2") or str(code) in ("default", "2XX")
                          for code in (op.get("responses") or {}))]
    return SpecProblem("success_documented", "Every operation documents a success response", not missing,
                       f"no 2xx response documented for {', '.join(missing)}" if missing else "all documented",
                       details=missing)


def _unique_operation_ids(raw: dict[str, Any]) -> SpecProblem:
    counts = Counter(str(op["operationId"]) for _, _, op in iter_operations(raw) if op.get("operationId"))
    duplicates = sorted(name for name, n in counts.items() if n > 1)
    return SpecProblem("unique_operation_ids", "operationIds are unique", not duplicates,
                       f"duplicated operationIds: {', '.join(duplicates)}" if duplicates else "unique",
                       details=duplicates)


def _links(raw: dict[str, Any]) -> SpecProblem:
    links = sum(len(response.get("links") or {}) for _, _, op in iter_operations(raw)
                for response in (op.get("responses") or {}).values() if isinstance(response, dict))
    if links:
        return SpecProblem("links", "OpenAPI links connect operations (stateful phase)", True,
                           f"{links} links; the stateful phase follows them")
    return SpecProblem("links", "OpenAPI links connect operations (stateful phase)", None,
                       "the document declares no links, so stateful testing can only use inferred transitions",
                       severity="info")
