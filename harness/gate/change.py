"""Change expressions of a policy's ``baseline.metrics``: how much worse than the baseline a metric may get.

``+10%`` (relative), ``+0.5pp`` (percentage points, for ratios such as an error rate), ``+2s`` or
``+150ms`` (absolute time). The sign says which direction is worse: ``+`` for latencies and error
rates, ``-`` for metrics where a drop hurts (``load.*.rate: -10%``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALLOWED = ("+N% (relative), +Npp (percentage points, for ratios such as error_rate), +Ns or +Nms (absolute time); "
           "a leading '-' where a drop is worse, e.g. 'load.*.rate: -10%'")

_PATTERN = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d+)?)\s*(%|pp|ms|s)\s*$")
_TIME_UNITS = {"ms": 0.001, "s": 1.0}


@dataclass(frozen=True)
class Change:
    text: str
    worse_when_higher: bool
    amount: float
    unit: str  # %, pp, ms, s

    def applies_to(self, unit: str) -> bool:
        """Whether the expression makes sense for a metric measured in ``unit``."""
        if self.unit == "%":
            return True
        if self.unit == "pp":
            return unit == "ratio"
        return unit in _TIME_UNITS

    def limit(self, before: float, unit: str) -> float:
        """The worst value still accepted, given the baseline's (bound on the) value in ``unit``."""
        if self.unit == "%":
            step = abs(before) * self.amount / 100
        elif self.unit == "pp":
            step = self.amount / 100
        else:
            step = self.amount * _TIME_UNITS[self.unit] / _TIME_UNITS[unit]
        return before + step if self.worse_when_higher else before - step


def parse_change(text: str) -> Change:
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a change expression")
    sign, amount, unit = match.groups()
    return Change(text=text.strip(), worse_when_higher=sign == "+", amount=float(amount), unit=unit)


def valid_change(text: str) -> str:
    """pydantic validator for a policy field."""
    parse_change(text)
    return text.strip()
