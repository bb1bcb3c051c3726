"""readiness.json's schema is exported, versioned, and changes only with a version bump."""

import hashlib
import json
from pathlib import Path

import jsonschema

from harness.model import SCHEMA_VERSION
from harness.schema import current_schema, exported_schema, render
from tests.test_model import make_run

VERSIONS_FILE = Path(__file__).with_name("schema_versions.json")


def _digest(schema: dict) -> str:
    return hashlib.sha256(render(schema).encode()).hexdigest()


def test_exported_schema_matches_the_model():
    assert exported_schema() == current_schema(), (
        "the model changed but harness/schema/readiness.schema.json did not: bump SCHEMA_VERSION in "
        "harness/model.py, then run `harness schema -o harness/schema/readiness.schema.json`"
    )


def test_released_versions_are_frozen():
    released = json.loads(VERSIONS_FILE.read_text())
    digest = _digest(current_schema())
    if SCHEMA_VERSION in released:
        assert released[SCHEMA_VERSION] == digest, (
            f"schema {SCHEMA_VERSION} was already released with another shape: the model changed without a "
            "version bump. Bump SCHEMA_VERSION and add it to tests/schema_versions.json"
        )
    else:
        raise AssertionError(f"add \"{SCHEMA_VERSION}\": \"{digest}\" to tests/schema_versions.json")


def test_schema_version_is_stamped_everywhere():
    assert exported_schema()["x-schema-version"] == SCHEMA_VERSION
    assert make_run().schema_version == SCHEMA_VERSION


def test_a_real_run_validates_against_the_exported_schema():
    document = json.loads(make_run().model_dump_json())
    jsonschema.validate(document, exported_schema())


def test_schema_rejects_a_report_with_an_unknown_status():
    document = json.loads(make_run().model_dump_json())
    document["suites"][0]["checks"][0]["status"] = "sort-of"
    try:
        jsonschema.validate(document, exported_schema())
    except jsonschema.ValidationError:
        return
    raise AssertionError("an unknown status must not validate")


def test_claims_file_schema_is_exported_and_validates_the_shipped_claims():
    import yaml

    assert exported_schema("claims") == current_schema("claims"), (
        "claims files changed: run `harness schema claims -o harness/schema/claims.schema.json`")
    for path in (Path(__file__).parents[1] / "scenarios" / "claims").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), current_schema("claims"))
