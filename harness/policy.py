"""Gate policies: what makes a run block a release (YAML files in ``scenarios/policies/``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import UsageError
from harness.model import Severity


class Policy(BaseModel):
    """First version: a severity threshold. Baselines and waivers come later."""

    model_config = ConfigDict(extra="forbid")

    severity_threshold: Severity = Severity.MEDIUM
    description: str = ""


def load_policy(path: Path | None) -> Policy:
    """Read a policy file; ``None`` gives the default policy. Bad files raise ``UsageError``."""
    if path is None:
        return Policy()
    if not path.is_file():
        raise UsageError(f"policy file {path} not found; pass an existing YAML file to --policy")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({exc.__class__.__name__}: {exc})".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a policy is a YAML mapping, e.g. 'severity_threshold: high'")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        allowed = ", ".join(s.value for s in Severity) if key == "severity_threshold" else ", ".join(Policy.model_fields)
        raise UsageError(f"{path}: {key}: {first['msg']}; allowed: {allowed}") from None
