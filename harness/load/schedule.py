"""The open-model arrival schedule: when each request is *intended* to start.

Like wrk2 and k6's ``ramping-arrival-rate``: the schedule is computed from the profile,
never from how fast the target answers, so a slow target cannot slow the load down
(the root of coordinated omission). Every worker computes the same schedule and keeps
every ``workers``-th arrival, so N processes together send exactly the planned traffic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from harness.load.profile import LoadProfile


@dataclass(frozen=True, slots=True)
class Arrival:
    seq: int  # position in the global schedule
    offset_s: float  # intended start, seconds after the run's start
    op_index: int  # index into profile.operations


@dataclass(frozen=True, slots=True)
class _Segment:
    start_s: float
    duration_s: float
    rate_from: float
    rate_to: float

    @property
    def count(self) -> float:
        """Expected arrivals in this segment (area under the rate line)."""
        return (self.rate_from + self.rate_to) / 2 * self.duration_s

    def time_of(self, n: float) -> float:
        """Offset within the segment at which the cumulative count reaches ``n``."""
        r0, r1, d = self.rate_from, self.rate_to, self.duration_s
        if math.isclose(r0, r1):
            return n / r0
        a = (r1 - r0) / (2 * d)  # N(t) = r0 t + a t^2
        return (-r0 + math.sqrt(r0 * r0 + 4 * a * n)) / (2 * a)


def _segments(profile: LoadProfile) -> list[_Segment]:
    segments, start, previous = [], 0.0, 0.0
    for stage in profile.stages:
        rate = float(stage.rate or 0.0)
        segments.append(_Segment(start, stage.duration_s, previous if stage.ramp else rate, rate))
        start += stage.duration_s
        previous = rate
    return segments


def rate_at(profile: LoadProfile, t: float) -> float:
    """Scheduled arrival rate (per second) at offset ``t``."""
    for seg in _segments(profile):
        if seg.start_s <= t < seg.start_s + seg.duration_s:
            return seg.rate_from + (seg.rate_to - seg.rate_from) * (t - seg.start_s) / seg.duration_s
    return 0.0


def expected_arrivals(profile: LoadProfile) -> int:
    return int(sum(seg.count for seg in _segments(profile)))


def _cumulative_targets(profile: LoadProfile) -> Iterator[float]:
    """Cumulative counts at which arrivals happen: 0,1,2,... or a unit-rate Poisson process."""
    if profile.arrivals == "uniform":
        n = 0
        while True:
            yield float(n)
            n += 1
    rng = random.Random(profile.seed ^ 0x5EED)
    total = 0.0
    while True:
        yield total
        total += rng.expovariate(1.0)


def arrivals(profile: LoadProfile, worker_index: int = 0, workers: int = 1) -> Iterator[Arrival]:
    """This worker's share of the schedule, in time order.

    Times come from inverting the cumulative rate N(t) (time-rescaling), which handles
    constant stages and linear ramps exactly, for uniform and Poisson arrivals alike.
    """
    segments = _segments(profile)
    ends = list(accumulate(seg.count for seg in segments))
    weights = list(accumulate(op.weight for op in profile.operations))
    pick = random.Random(profile.seed)  # same sequence in every worker
    seg_index = 0
    for seq, n in enumerate(_cumulative_targets(profile)):
        while seg_index < len(segments) and n >= ends[seg_index]:
            seg_index += 1
        if seg_index == len(segments):
            return
        seg = segments[seg_index]
        before = ends[seg_index] - seg.count
        op_index = pick.choices(range(len(weights)), cum_weights=weights)[0] if len(weights) > 1 else 0
        if seq % workers == worker_index:
            yield Arrival(seq, seg.start_s + seg.time_of(n - before), op_index)
