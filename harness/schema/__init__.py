"""The exported JSON Schemas: ``readiness.json`` (``RunResult``, versioned) and the files users write.

``readiness`` carries ``SCHEMA_VERSION``; ``policy`` and ``waivers`` describe the gate's YAML files,
``claims`` the claims files and ``gameday`` the game-day files (point an editor's YAML language server at
them); ``baseline`` the stored baselines. A test keeps every exported file equal to what the code produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.model import SCHEMA_VERSION, RunResult

SCHEMA_DIR = Path(__file__).parent
SCHEMA_FILE = SCHEMA_DIR / "readiness.schema.json"


def _documents() -> dict[str, type[BaseModel]]:
    from harness.claims.model import ClaimsFile
    from harness.gameday.spec import GameDay
    from harness.gate.baseline import Baseline
    from harness.gate.policy import Policy
    from harness.gate.waivers import WaiverFile

    return {"readiness": RunResult, "policy": Policy, "waivers": WaiverFile, "baseline": Baseline,
            "claims": ClaimsFile, "gameday": GameDay}


DOCUMENTS = ("readiness", "policy", "waivers", "baseline", "claims", "gameday")
EXPORTED = ("readiness", "policy", "waivers", "claims", "gameday")  # files kept in harness/schema/


def schema_file(document: str) -> Path:
    return SCHEMA_DIR / f"{document}.schema.json"


def current_schema(document: str = "readiness") -> dict[str, Any]:
    """The schema the code produces now; readiness.json's is stamped with its version."""
    model = _documents()[document]
    schema = model.model_json_schema(mode="serialization" if document == "readiness" else "validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if document == "readiness":
        schema["$id"] = f"urn:readiness-harness:readiness:{SCHEMA_VERSION}"
        schema["x-schema-version"] = SCHEMA_VERSION
    else:
        schema["$id"] = f"urn:readiness-harness:{document}"
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def exported_schema(document: str = "readiness") -> dict[str, Any]:
    return json.loads(schema_file(document).read_text())
