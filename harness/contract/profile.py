"""Contract profiles: the budget and the known-noise rules of one run, read from YAML.

``scenarios/contract/<name>.yaml`` holds one profile. Known noise is configuration with a stated
reason, scoped to one operation (or narrowed by a ``match`` on the failure text), never a check
switched off for every operation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import UsageError, invalid_input

PROFILE_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "contract"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Schemathesis 4 check names; ``all`` in a profile means every one of them.
KNOWN_CHECKS = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
    "unsupported_method", "allow_header_conformance", "use_after_free", "ensure_resource_availability",
    "ignored_auth", "object_level_authorization",
)
# Checks whose schemathesis config takes ``expected-statuses``.
CHECKS_WITH_EXPECTED_STATUSES = ("not_a_server_error", "positive_data_acceptance", "negative_data_rejection",
                                 "missing_required_header")
OPERATION_PATTERN = r"^(\*|(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) /\S*)$"


class NoiseRule(BaseModel):
    """One known-noisy check on one operation, and why it is accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operation: str = Field(pattern=OPERATION_PATTERN, description='"METHOD /path" as in the spec, or "*"')
    check: str
    reason: str = Field(min_length=10, description="why this is noise, in a sentence a reviewer can judge")
    match: str | None = Field(None, description="regex on failure title, message and response excerpt; only matches are noise")
    expected_statuses: list[int] | None = Field(None, description="statuses the check accepts on this operation")

    @model_validator(mode="after")
    def _scoped(self) -> NoiseRule:
        if self.check not in KNOWN_CHECKS:
            raise ValueError(f"unknown check {self.check!r}; known: {', '.join(KNOWN_CHECKS)}")
        if self.match is not None:
            re.compile(self.match)
        if self.expected_statuses is not None and self.check not in CHECKS_WITH_EXPECTED_STATUSES:
            raise ValueError(f"expected_statuses only applies to {', '.join(CHECKS_WITH_EXPECTED_STATUSES)}")
        if self.operation == "*" and self.match is None:
            raise ValueError(f"rule for {self.check!r} on every operation must narrow itself with `match`: "
                             "a check is never switched off wholesale")
        return self

    @property
    def disables_check(self) -> bool:
        """No ``match`` and no statuses: the check does not run on this operation at all."""
        return self.match is None and self.expected_statuses is None

    def applies_to(self, operation: str, check: str) -> bool:
        return self.check == check and self.operation in ("*", operation)

    def matches(self, operation: str, check: str, failure_text: str) -> bool:
        return self.applies_to(operation, check) and self.match is not None and bool(
            re.search(self.match, failure_text)
        )


class ContractProfile(BaseModel):
    """How much fuzzing one run may spend, and what it generates and checks."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    max_time_s: int = Field(ge=1, le=3600, description="wall-clock budget of the schemathesis engine")
    max_examples: int = Field(20, ge=1, le=10_000, description="examples per operation per fuzzing round")
    mode: Literal["positive", "negative", "all"] = "all"
    phases: list[Literal["examples", "coverage", "fuzzing", "stateful"]] = Field(default_factory=lambda: list(PHASES))
    checks: list[str] | Literal["all"] = "all"
    stateful_max_steps: int = Field(8, ge=1, le=200)
    request_timeout_s: float = Field(5.0, gt=0, le=120)
    workers: int = Field(1, ge=1, le=16)
    max_failures: int | None = Field(None, ge=1)
    known_noise: list[NoiseRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks_known(self) -> ContractProfile:
        unknown = [c for c in (self.checks if isinstance(self.checks, list) else []) if c not in KNOWN_CHECKS]
        if unknown:
            raise ValueError(f"unknown checks {unknown}; known: {', '.join(KNOWN_CHECKS)}")
        return self

    @property
    def check_names(self) -> list[str]:
        return list(KNOWN_CHECKS) if self.checks == "all" else list(self.checks)


def available_profiles(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_contract_profile(name_or_path: str | Path, directory: Path = PROFILE_DIR) -> ContractProfile:
    """A profile by name (``smoke``) from ``scenarios/contract/`` or by file path; ``UsageError`` if bad."""
    path = Path(name_or_path)
    if not path.suffix:
        path = directory / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UsageError(f"contract profile {str(name_or_path)!r} not found; available in {directory}: "
                         f"{', '.join(available_profiles(directory)) or 'none'} (or pass a YAML file path)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
        data.setdefault("name", path.stem)
        return ContractProfile.model_validate(data)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except ValidationError as exc:
        raise invalid_input(str(path), exc) from None
