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
    schema = RunResult.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:readiness-harness:readiness:{SCHEMA_VERSION}"
    schema["x-schema-version"] = SCHEMA_VERSION
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def exported_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def claims_schema() -> dict[str, Any]:
    """The schema of claims files (``scenarios/claims/*.yaml``), versioned with the report schema."""
    from harness.claims.model import ClaimsFile

    schema = ClaimsFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:readiness-harness:claims:{SCHEMA_VERSION}"
    schema["x-schema-version"] = SCHEMA_VERSION
    return schema


# name -> (exported file, the schema the code produces now)
SCHEMAS: dict[str, tuple[Path, Callable[[], dict[str, Any]]]] = {
    "readiness": (SCHEMA_FILE, current_schema),
    "claims": (CLAIMS_SCHEMA_FILE, claims_schema),
}
