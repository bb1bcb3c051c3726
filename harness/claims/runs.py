"""Which numbers a suite runs a check with: its own defaults, and each claim whose numbers differ.

The suite's default run (the target's published configuration, or the suite's default) always happens,
so a claims file never changes the run's verdict; claims that state exactly those numbers are attached
to it. A claim with other numbers gets a run of its own, recorded ``claim_only``: it decides that claim
and nothing else (a claim of 30/min is verified at 30/min, not at the system's 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from harness.claims.model import ClaimsFile

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class ParamRun(Generic[P]):
    """One run of a check: with these numbers, for these claims; ``claim_only`` when not the suite's own run."""

    params: P
    claims: tuple[str, ...] = ()
    claim_only: bool = False

    @property
    def label(self) -> str:
        return f"claim {', '.join(self.claims)}" if self.claim_only else "the target's configuration"


def param_runs(claims: ClaimsFile | None, kind: str, default: P | None) -> list[ParamRun[P]]:
    """The default run first (tagged with the claims that match it), then one claim-only run per other set of numbers."""
    groups: dict[P, list[str]] = {}
    for claim in (claims.with_params(kind) if claims else []):
        groups.setdefault(getattr(claim.params, kind), []).append(claim.id)
    runs: list[ParamRun[P]] = []
    if default is not None:
        runs.append(ParamRun(default, tuple(groups.pop(default, []))))
    runs += [ParamRun(params, tuple(ids), claim_only=True) for params, ids in groups.items()]
    return runs
