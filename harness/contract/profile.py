"""Contract profiles: the budget and the known-noise rules of one run, read from YAML.

``scenarios/contract/<name>.yaml`` holds one profile. Known noise is configuration with a stated
reason, scoped to one operation (or narrowed by a ``match`` on the failure text or a ``when``
condition), never a check switched off for every operation. Rules shared by several profiles live
in ``scenarios/contract/noise/<name>.yaml`` (a profile lists them under ``include_noise``); rules
of one API live in ``scenarios/contract/targets/<name>.yaml`` and apply when the OpenAPI
document's ``info.title`` equals the file's ``api_title``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.contract.conditions import CONDITIONS
from harness.errors import UsageError
from harness.inputs import validate
from harness.yaml_file import read_yaml

PROFILE_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "contract"
NOISE_DIR = PROFILE_DIR / "noise"  # rules shared by profiles (include_noise)
TARGETS_DIR = PROFILE_DIR / "targets"  # rules of one API, chosen by its OpenAPI info.title
Phase = Literal["examples", "coverage", "fuzzing", "stateful"]
PHASES: tuple[Phase, ...] = ("examples", "coverage", "fuzzing", "stateful")
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
    when: str | None = Field(None, description=f"a scenario condition that must hold: {', '.join(CONDITIONS)}")

    @model_validator(mode="after")
    def _scoped(self) -> NoiseRule:
        if self.check not in KNOWN_CHECKS:
            raise ValueError(f"unknown check {self.check!r}; known: {', '.join(KNOWN_CHECKS)}")
        if self.match is not None:
            re.compile(self.match)
        if self.when is not None and self.when not in CONDITIONS:
            raise ValueError(f"unknown condition {self.when!r}; known: {', '.join(CONDITIONS)}")
        if self.expected_statuses is not None and self.check not in CHECKS_WITH_EXPECTED_STATUSES:
            raise ValueError(f"expected_statuses only applies to {', '.join(CHECKS_WITH_EXPECTED_STATUSES)}")
        if self.operation == "*" and not self.classifies_failures:
            raise ValueError(f"rule for {self.check!r} on every operation must narrow itself with `match` or "
                             "`when`: a check is never switched off wholesale")
        return self

    @property
    def classifies_failures(self) -> bool:
        """The check still runs; the rule decides afterwards which of its failures are noise."""
        return self.match is not None or self.when is not None

    @property
    def disables_check(self) -> bool:
        """No ``match``, ``when`` or statuses: the check does not run on this operation at all."""
        return not self.classifies_failures and self.expected_statuses is None

    def applies_to(self, operation: str, check: str) -> bool:
        return self.check == check and self.operation in ("*", operation)

    def matches(self, operation: str, check: str, failure_text: str, conditions: Iterable[str] = ()) -> bool:
        """Is this failure noise by this rule: every narrowing it has (``match``, ``when``) holds."""
        if not self.classifies_failures or not self.applies_to(operation, check):
            return False
        if self.match is not None and not re.search(self.match, failure_text):
            return False
        return self.when is None or self.when in conditions


class ContractProfile(BaseModel):
    """How much fuzzing one run may spend, and what it generates and checks."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    max_time_s: int = Field(ge=1, le=3600, description="wall-clock budget of the schemathesis engine")
    budget_s: float | None = Field(None, gt=0, le=4000, description="budget of the whole run (spec loading, logins, "
                                   "engine); the harness stops the engine itself at this point. Default: max_time_s + 25 %, at least 5 s more")
    max_examples: int = Field(20, ge=1, le=10_000, description="examples per operation per fuzzing round")
    mode: Literal["positive", "negative", "all"] = "all"
    phases: list[Phase] = Field(default_factory=lambda: list(PHASES))
    checks: list[str] | Literal["all"] = "all"
    stateful_max_steps: int = Field(8, ge=1, le=200)
    request_timeout_s: float = Field(5.0, gt=0, le=120)
    workers: int = Field(1, ge=1, le=16)
    max_failures: int | None = Field(None, ge=1)
    include_noise: list[str] = Field(default_factory=list, description="shared rule files in scenarios/contract/noise/")
    known_noise: list[NoiseRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks_known(self) -> ContractProfile:
        unknown = [c for c in (self.checks if isinstance(self.checks, list) else []) if c not in KNOWN_CHECKS]
        if unknown:
            raise ValueError(f"unknown checks {unknown}; known: {', '.join(KNOWN_CHECKS)}")
        if self.budget_s is not None and self.budget_s < self.max_time_s:
            raise ValueError(f"budget_s ({self.budget_s}) must leave room for max_time_s ({self.max_time_s})")
        return self

    @property
    def check_names(self) -> list[str]:
        return list(KNOWN_CHECKS) if self.checks == "all" else list(self.checks)

    @property
    def run_budget_s(self) -> float:
        """Wall-clock budget of the whole run; past it the harness stops the engine."""
        return self.budget_s if self.budget_s is not None else self.max_time_s + max(5.0, self.max_time_s / 4)

    def with_noise(self, rules: list[NoiseRule]) -> ContractProfile:
        return self.model_copy(update={"known_noise": [*self.known_noise, *rules]})


class NoiseFile(BaseModel):
    """Known-noise rules kept apart from a profile: shared ones, or one API's (``api_title``)."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    api_title: str | None = Field(None, description="the OpenAPI info.title these rules belong to (targets/ only)")
    known_noise: list[NoiseRule] = Field(min_length=1)


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
    data = _read_yaml(path)
    data.setdefault("name", path.stem)
    profile = validate(ContractProfile, data, str(path))
    shared = [rule for name in profile.include_noise for rule in load_noise_file(_noise_path(name, path)).known_noise]
    return profile.model_copy(update={"known_noise": [*shared, *profile.known_noise]})


def load_noise_file(path: Path) -> NoiseFile:
    return validate(NoiseFile, _read_yaml(path), str(path))


def target_noise(api_title: str | None, directory: Path = TARGETS_DIR) -> tuple[list[NoiseRule], list[Path]]:
    """The rules (and their files) of the API whose OpenAPI ``info.title`` is ``api_title``."""
    rules: list[NoiseRule] = []
    files: list[Path] = []
    for path in sorted(directory.glob("*.yaml")) if api_title else []:
        noise = load_noise_file(path)
        if noise.api_title is None:
            raise UsageError(f"{path}: a target's noise file needs `api_title` (the OpenAPI info.title it is for)")
        if noise.api_title == api_title:
            rules.extend(noise.known_noise)
            files.append(path)
    return rules, files


def _noise_path(name: str, profile_path: Path) -> Path:
    path = NOISE_DIR / f"{name}.yaml"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in NOISE_DIR.glob("*.yaml"))) or "none"
        raise UsageError(f"{profile_path}: include_noise: {name!r} not found in {NOISE_DIR} (available: {available})")
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of keys, got {type(data).__name__}")
    return data
