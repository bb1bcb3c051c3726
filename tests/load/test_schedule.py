"""The arrival schedule: exact counts, ramps, Poisson, deterministic operation mix, worker shares."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from harness.load.profile import parse_profile
from harness.load.schedule import SharedSchedule, arrival_tuples, arrivals, expected_arrivals, rate_at


def profile(**fields):  # type: ignore[no-untyped-def]
    data = {"name": "t", "stages": [{"duration_s": 10, "rate": 20}],
            "operations": [{"name": "a", "path": "/a"}], **fields}
    return parse_profile(data, "test")


def test_uniform_constant_rate_is_evenly_spaced() -> None:
    offsets = [a.offset_s for a in arrivals(profile())]
    assert len(offsets) == 200 == expected_arrivals(profile())
    gaps = {round(b - a, 9) for a, b in pairwise(offsets)}
    assert gaps == {0.05}
    assert offsets[-1] < 10


def test_linear_ramp_matches_the_area_under_the_rate() -> None:
    ramp = profile(stages=[{"duration_s": 10, "rate": 40, "ramp": True}, {"duration_s": 5, "rate": 40}])
    times = [a.offset_s for a in arrivals(ramp)]
    assert len(times) == 200 + 200  # 10 s ramp 0→40 (area 200) + 5 s at 40
    first_half = sum(1 for t in times if t < 5)
    assert first_half == pytest.approx(50, abs=1)  # area of the ramp's first half: 0.5*5*20
    assert rate_at(ramp, 2.5) == pytest.approx(10)


def test_ramp_down_is_exact_too() -> None:
    down = profile(stages=[{"duration_s": 4, "rate": 50}, {"duration_s": 4, "rate": 10, "ramp": True}])
    assert len(list(arrivals(down))) == 200 + 120


def test_poisson_is_seeded_and_has_the_planned_mean() -> None:
    poisson = profile(arrivals="poisson", stages=[{"duration_s": 100, "rate": 20}])
    first = [a.offset_s for a in arrivals(poisson)]
    again = [a.offset_s for a in arrivals(poisson)]
    assert first == again
    assert len(first) == pytest.approx(2000, rel=0.1)
    gaps = [b - a for a, b in pairwise(first)]
    assert len(set(round(g, 6) for g in gaps)) > 100  # not evenly spaced


def test_operation_mix_follows_the_weights() -> None:
    mixed = profile(stages=[{"duration_s": 100, "rate": 50}],
                    operations=[{"name": "a", "path": "/a", "weight": 3}, {"name": "b", "path": "/b", "weight": 1}])
    counts = Counter(a.op_index for a in arrivals(mixed))
    assert counts[0] / (counts[0] + counts[1]) == pytest.approx(0.75, abs=0.02)


def test_workers_partition_the_schedule_exactly() -> None:
    mixed = profile(operations=[{"name": "a", "path": "/a"}, {"name": "b", "path": "/b", "weight": 2}])
    whole = list(arrivals(mixed))
    shares = [list(arrivals(mixed, i, 3)) for i in range(3)]
    merged = sorted((a for share in shares for a in share), key=lambda a: a.seq)
    assert merged == whole
    assert {len(share) for share in shares} <= {66, 67}


def test_shared_schedule_drops_what_fell_due_while_every_user_was_busy() -> None:
    dropped: list[tuple[int, float]] = []
    shared = SharedSchedule(arrival_tuples(profile()), dropped.append)  # every 0.05 s for 10 s
    assert shared.claim(0.0) == (0, 0.0, 0) and shared.claim(0.0) == (1, 0.05, 0)  # two free users
    # the first user became free at 0.12 s: arrival 2 (due 0.10 s) found every user busy
    assert shared.claim(0.12) == (3, 0.15, 0) and dropped == [(0, 0.10)]
    shared.drop_due(0.30)  # the bookkeeper at 0.30 s: nobody claimed 0.20 and 0.25 in time
    assert dropped == [(0, 0.10), (0, 0.20), (0, 0.25)]
    assert shared.claim(0.0) == (6, 0.30, 0)  # a user free since before it was due gets it
    rest = [shared.claim(0.0) for _ in range(193)]
    assert rest[-1] == (199, 9.95, 0) and shared.claim(0.0) is None and shared.claim(99.0) is None
    assert len(dropped) == 3


def test_single_operation_shares_match_the_whole_schedule() -> None:
    ramp = profile(stages=[{"duration_s": 5, "rate": 30, "ramp": True}, {"duration_s": 5, "rate": 30}])
    whole = list(arrivals(ramp))
    shares = [list(arrivals(ramp, i, 4)) for i in range(4)]  # these skip the other workers' arrivals
    assert sorted((a for share in shares for a in share), key=lambda a: a.seq) == whole
    assert [tuple(a) for a in whole] == list(arrival_tuples(ramp))
