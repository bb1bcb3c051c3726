"""The exported, versioned JSON Schema of ``readiness.json`` (``RunResult``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.model import SCHEMA_VERSION, RunResult

SCHEMA_FILE = Path(__file__).with_name("readiness.schema.json")


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
