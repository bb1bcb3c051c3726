"""The exported, versioned JSON Schema of ``readiness.json`` (``RunResult``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collections.abc import Callable

from harness.model import SCHEMA_VERSION, RunResult

SCHEMA_FILE = Path(__file__).with_name("readiness.schema.json")
CLAIMS_SCHEMA_FILE = Path(__file__).with_name("claims.schema.json")


def current_schema() -> dict[str, Any]:
    """The schema the code produces now, stamped with its version."""
    return _stamped(RunResult.model_json_schema(mode="serialization"), "readiness")


def _stamped(schema: dict[str, Any], name: str) -> dict[str, Any]:
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:readiness-harness:{name}:{SCHEMA_VERSION}"
    schema["x-schema-version"] = SCHEMA_VERSION
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def exported_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def claims_schema() -> dict[str, Any]:
    """The schema of claims files (``scenarios/claims/*.yaml``), versioned with the report schema."""
    from harness.claims.model import ClaimsFile

    return _stamped(ClaimsFile.model_json_schema(mode="validation"), "claims")


# name -> (exported file, the schema the code produces now)
SCHEMAS: dict[str, tuple[Path, Callable[[], dict[str, Any]]]] = {
    "readiness": (SCHEMA_FILE, current_schema),
    "claims": (CLAIMS_SCHEMA_FILE, claims_schema),
}
