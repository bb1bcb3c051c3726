"""Gate policies: what makes a run block a release (YAML files in ``scenarios/policies/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import UsageError, error_location, invalid_input
from harness.model import Severity
from harness.yaml_file import read_yaml


class SecurityPolicy(BaseModel):
    """Like ZAP's rules file: probe id (fnmatch pattern) -> fail | warn | ignore."""

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Literal["fail", "warn", "ignore"]] = Field(default_factory=dict)
    # /docs, /redoc public on purpose? (security.inventory.docs_exposure; unset: the target's own hint, else no)
    docs_allowed: bool | None = None


class Policy(BaseModel):
    """A severity threshold plus per-suite rules. Baselines and waivers come later."""

    model_config = ConfigDict(extra="forbid")

    severity_threshold: Severity = Severity.MEDIUM
    description: str = ""
    security: SecurityPolicy = Field(default_factory=SecurityPolicy)


def load_policy(path: Path | None) -> Policy:
    """Read a policy file; ``None`` gives the default policy. Bad files raise ``UsageError``."""
    if path is None:
        return Policy()
    if not path.is_file():
        raise UsageError(f"policy file {path} not found; pass an existing YAML file to --policy")
    data = read_yaml(path, what="policy file") or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a policy is a YAML mapping, e.g. 'severity_threshold: high'")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        key, _ = error_location(exc)
        if key == "severity_threshold":
            allowed = ", ".join(s.value for s in Severity)
        elif key.startswith("security.rules."):
            allowed = "fail, warn, ignore"
        else:
            allowed = ", ".join(Policy.model_fields)
        raise invalid_input(str(path), exc, allowed=allowed) from None
