"""Reading input files (profiles, experiments, claims, policies, game days, target files …) into pydantic
models with one-line errors: the one path every loader validates through.

A bad file is a usage error (exit 4) whose one line names the file, the key and what is allowed there,
e.g. ``ci.yaml: levels.1.checks: Input should be a valid list; allowed: a list of check id globs``.
The "allowed" part is read off the model itself (Literal and Enum values, the keys of a section, or a
field's ``allowed`` hint), so it cannot drift from what the loader accepts.
"""

from __future__ import annotations

import json
import types
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from harness.errors import UsageError
from harness.yaml_file import read_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_mapping(path: Path, what: str, flag: str, example: str) -> dict[str, Any]:
    """A YAML (or JSON) file whose top level is a mapping; anything else is a ``UsageError``."""
    if not path.is_file():
        raise UsageError(f"{what} file {path} not found; pass an existing file to {flag}")
    if path.suffix != ".json":
        data = read_yaml(path, what=f"{what} file")  # a syntax error named by line and column
    else:
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not valid JSON ({exc.__class__.__name__}: {exc})".splitlines()[0]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a {what} is a YAML mapping, e.g. '{example}'")
    return data


def validate(model: type[ModelT], data: Any, source: str, *, shape: str = "", prefix: str = "") -> ModelT:
    """``model`` from parsed data, or a ``UsageError`` (exit 4) in one line.

    ``shape`` says what the top level should be when it is not a mapping (``a load profile is a mapping with
    stages, thresholds …``); ``prefix`` places a nested section's keys in the file (``extensions.harness.``).
    """
    if not isinstance(data, dict):
        raise UsageError(f"{source}: {shape or 'expected a mapping of keys'}, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(describe(source, model, exc, prefix=prefix)) from None


def describe(source: str, model: type[BaseModel], exc: ValidationError, *, prefix: str = "") -> str:
    """``source: key.path: what is wrong (got …); allowed: …`` for pydantic's first error."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    where = (prefix + ".".join(str(part) for part in loc)).rstrip(".") or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if first["type"] in ("extra_forbidden", "missing") or isinstance(got, dict | list) else f" (got {got!r})"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if first["type"] == "extra_forbidden":
        message = f"unknown key {str(loc[-1])!r}"
        allowed = "known keys: " + ", ".join(_fields(_annotation_at(model, loc[:-1])))
    else:
        allowed = "allowed: " + allowed_at(model, loc)
    return f"{source}: {where}: {message}{shown}{more}; {allowed}"


def allowed_at(model: type[BaseModel], loc: list[Any]) -> str:
    field_hint = _field_hint(model, loc)
    if field_hint:
        return field_hint
    return describe_type(_annotation_at(model, loc))


def _field_hint(model: type[BaseModel], loc: list[Any]) -> str | None:
    """A field's own ``allowed`` hint (``json_schema_extra={"allowed": …}``), for the last named key."""
    for cut in range(len(loc), 0, -1):
        parent = _annotation_at(model, loc[: cut - 1])
        name = loc[cut - 1]
        if isinstance(parent, type) and issubclass(parent, BaseModel) and name in parent.model_fields:
            extra = parent.model_fields[name].json_schema_extra
            if isinstance(extra, dict) and "allowed" in extra:
                return str(extra["allowed"])
            return None
    return None


def _annotation_at(model: Any, loc: list[Any]) -> Any:
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return current
            current = field.annotation
        elif get_origin(current) in (list, tuple, set) and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return current
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → X (the part a user can get wrong)."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _fields(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def describe_type(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is Literal:
        return ", ".join(str(a) for a in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return ", ".join(str(member.value) for member in annotation)
    if annotation is date:
        return "a date YYYY-MM-DD"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a mapping with keys " + ", ".join(_fields(annotation))
    origin = get_origin(annotation)
    if origin in (list, tuple, set):
        return "a list of " + describe_type(get_args(annotation)[0])
    if origin is dict:
        return "a mapping of names to " + describe_type(get_args(annotation)[1])
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))
