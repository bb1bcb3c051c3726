"""The option table: ``HarnessConfig``'s fields, spelled as command-line flags and environment variables.

One declaration (the fields of ``harness.config.HarnessConfig`` and their ``option(...)`` metadata)
gives three spellings of every setting: a flag of ``harness run`` (``harness.cli``), a pytest option
(``harness.pytest_plugin``) and ``HARNESS_<FIELD>`` (``harness.config.read_environment``). Flags are
read as text and validated once, by pydantic, in ``load_config`` — so a bad value gets the same
one-line error whichever spelling it came in.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from harness.config import ENV_PREFIX, HarnessConfig


@dataclass(frozen=True)
class Option:
    key: str  # the HarnessConfig field
    flag: str  # --target-url
    short: str | None
    help: str
    is_bool: bool
    repeat: bool  # the flag may be given several times
    comma: bool  # one flag holds a comma-separated list
    pytest: bool  # also a pytest option (else ``harness run`` only)
    metavar: str  # what the value looks like: local|kind|external, INTEGER, PATH …

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.key.upper()}"

    @property
    def dest(self) -> str:
        """Where argparse keeps the value (pytest's namespace is shared: prefixed)."""
        return f"harness_{self.key}"

    @property
    def is_list(self) -> bool:
        return self.repeat or self.comma


def _is_bool(annotation: Any) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation is bool or (isinstance(annotation, types.UnionType) and args == [bool])


def _metavar(annotation: Any) -> str:
    """``local|kind|external`` for choices, else the value's type in capitals."""
    inner = annotation
    if isinstance(annotation, types.UnionType):  # X | None
        inner = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(inner) is list:
        inner = typing.get_args(inner)[0]
    if isinstance(inner, type) and issubclass(inner, Enum):
        return "|".join(member.value for member in inner)
    if typing.get_origin(inner) is Literal:
        return "|".join(str(a) for a in typing.get_args(inner))
    return {int: "INTEGER", float: "NUMBER", Path: "PATH"}.get(inner, "TEXT")


def config_options() -> list[Option]:
    """Every field of ``HarnessConfig``, in declaration order."""
    out = []
    for key, field in HarnessConfig.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        out.append(Option(
            key=key, flag=str(extra.get("flag") or f"--{key.replace('_', '-')}"),
            short=str(extra["short"]) if extra.get("short") else None, help=field.description or key,
            is_bool=_is_bool(field.annotation), repeat=bool(extra.get("repeat")), comma=bool(extra.get("comma")),
            pytest=extra.get("pytest", True) is not False, metavar=_metavar(field.annotation),
        ))
    return out


def option_layer(values: dict[str, Any]) -> dict[str, Any]:
    """Flag values by field (``None``/empty: not given) as a ``load_config`` layer; comma lists split."""
    layer: dict[str, Any] = {}
    for option in config_options():
        value = values.get(option.key)
        if value is None or value == [] or value == ():
            continue
        if option.comma:
            items = value if isinstance(value, list | tuple) else [value]
            value = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
        layer[option.key] = list(value) if isinstance(value, tuple) else value
    return layer


def describe(option: Option) -> str:
    """The help text with the environment variable that sets the same thing."""
    return f"{option.help} (env {option.env})"


def command_parameters(only: tuple[str, ...] | None = None) -> list[inspect.Parameter]:
    """Keyword parameters of a typer command, one flag per option (``only``: these fields, in this order);
    the values arrive as text, lists or booleans for ``option_layer``."""
    import typer

    table = {option.key: option for option in config_options()}
    chosen = [table[key] for key in only] if only is not None else list(table.values())
    parameters = []
    for option in chosen:
        flags = [f"{option.flag}/--no-{option.flag[2:]}"] if option.is_bool else [option.flag]
        flags += [option.short] if option.short else []
        kind: Any = (bool | None) if option.is_bool else (list[str] | None) if option.is_list else (str | None)
        parameters.append(inspect.Parameter(option.key, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[kind, typer.Option(
                                                *flags, help=describe(option), show_default=False,
                                                metavar=None if option.is_bool else option.metavar)]))
    return parameters


def set_signature(command: Callable[..., Any], parameters: list[inspect.Parameter]) -> None:
    """Give ``command`` (which takes ``**options``) these parameters, so typer builds its flags from them."""
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
