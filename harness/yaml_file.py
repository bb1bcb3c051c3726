"""Reading the YAML files a run is configured with (profiles, experiments, policies, claims, targets).

A file that is missing or is not YAML is a usage error of one line that names the file and, for
a syntax error, the line and column — never a multi-line parser dump.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError


def read_yaml(path: Path, *, what: str = "file") -> Any:
    """The parsed document (``None`` for an empty file); ``UsageError`` naming ``path`` otherwise."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML{_where(exc)}: {_problem(exc)}") from None


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _problem(exc: yaml.YAMLError) -> str:
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = ", ".join(str(p) for p in parts if p) or str(exc)
    return " ".join(text.split())
