"""Time-based SQL injection where the database has no sleep function (the reference system's SQLite).

The probe counts to a million in a recursive CTE inside the injected condition and compares it with the
same payload counting to 1: the ``sqli`` defect answers every heavy request later than every light one,
the clean system does not.
"""

from __future__ import annotations

import pytest

from harness.security.context import ProbeContext
from harness.security.probes import injection
from tests.security.test_refsys import refsys

pytestmark = pytest.mark.integration  # a platform start each: ~10-15 s


def search_slot(ctx: ProbeContext) -> injection.Slot:
    """``q`` of ``GET /analyses``, with one analysis per identity so the condition is evaluated at all."""
    injection.seed_objects(ctx)
    return next(s for s in injection.slots(ctx) if s.op.key == "GET /analyses" and s.param.name == "q")


def test_a_heavy_count_finds_the_sqlite_injection(tmp_path):
    with refsys(tmp_path, ["sqli"]) as ctx:
        found = injection._time_based(ctx, injection.Sender(ctx), search_slot(ctx))
    assert found is not None, "the recursive count did not slow the sqli defect down"
    assert "recursive count to 1,000,000" in found.message and found.parameter == "query:q"
    light, heavy = found.evidence.measured["light_s"], found.evidence.measured["heavy_s"]
    assert len(heavy) == injection.HEAVY_ROUNDS + injection.HEAVY_CONFIRM_ROUNDS
    assert min(heavy) >= max(light) + injection.HEAVY_MIN_EXTRA_S
    assert max(heavy) < 10  # bounded: the refsys interrupts a SQLite statement after 5 s
    assert "WITH+RECURSIVE" in found.evidence.curl  # the reproduction sends the heavy payload


def test_the_clean_reference_system_is_quiet(tmp_path):
    with refsys(tmp_path, []) as ctx:
        assert injection._time_based(ctx, injection.Sender(ctx), search_slot(ctx)) is None
