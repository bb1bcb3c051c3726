"""The open-model arrival schedule: when each request is *intended* to start.

Like wrk2 and k6's ``ramping-arrival-rate``: the schedule is computed from the profile,
never from how fast the target answers, so a slow target cannot slow the load down
(the root of coordinated omission). Every worker computes the same schedule and keeps
every ``workers``-th arrival, so N processes together send exactly the planned traffic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, count
from typing import NamedTuple

from harness.load.profile import LoadProfile


class Arrival(NamedTuple):
    """One intended request (a tuple: the load worker creates tens of thousands a second)."""

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
    return map(Arrival._make, arrival_tuples(profile, worker_index, workers))


def arrival_tuples(profile: LoadProfile, worker_index: int = 0, workers: int = 1) -> Iterator[tuple[int, float, int]]:
    """``arrivals()`` as plain ``(seq, offset_s, op_index)`` tuples: what the load worker's hot loop claims."""
    segments = _segments(profile)
    ends = list(accumulate(seg.count for seg in segments))
    befores = [end - seg.count for end, seg in zip(ends, segments, strict=True)]
    weights = list(accumulate(op.weight for op in profile.operations))
    if profile.arrivals == "uniform" and len(weights) == 1:
        # Nothing random to keep in step with the other workers: visit only this worker's share.
        targets: Iterator[tuple[int, float]] = ((seq, float(seq)) for seq in count(worker_index, workers))
        workers, worker_index = 1, 0  # every target is already ours
        pick = None
    else:
        targets = enumerate(_cumulative_targets(profile))
        pick = random.Random(profile.seed)  # same sequence in every worker
    choices, indices = (pick.choices, range(len(weights))) if pick and len(weights) > 1 else (None, range(1))
    seg_index, last = -1, len(segments)
    end = start = before = rate = 0.0
    seg = segments[0]
    for seq, n in targets:
        if seg_index < 0 or n >= end:
            while seg_index < last and (seg_index < 0 or n >= ends[seg_index]):
                seg_index += 1
            if seg_index == last:
                return
            seg = segments[seg_index]
            end, start, before = ends[seg_index], seg.start_s, befores[seg_index]
            rate = seg.rate_from if math.isclose(seg.rate_from, seg.rate_to) else 0.0  # 0: a ramp
        op_index = choices(indices, cum_weights=weights)[0] if choices else 0
        if seq % workers == worker_index:
            # seg.time_of, inlined for constant stages (same arithmetic, so the same floats)
            yield seq, start + ((n - before) / rate if rate else seg.time_of(n - before)), op_index


class SharedSchedule:
    """The open model's claim counter: a worker's free users take its arrivals in order.

    No dispatcher and no queue: a user that becomes free claims the next arrival and sleeps
    until it is due. Offsets are seconds after the run's start; ``drop`` receives
    ``(op_index, offset_s)`` of each arrival that no user was free for.
    """

    __slots__ = ("_drop", "_source", "next")

    def __init__(self, source: Iterator[tuple[int, float, int]], drop: Callable[[tuple[int, float]], None]) -> None:
        self._source = source
        self._drop = drop
        self.next: tuple[int, float, int] | None = next(source, None)

    def claim(self, free_since: float) -> tuple[int, float, int] | None:
        """The next arrival due at or after ``free_since``, when the claiming user became free.

        Earlier unclaimed ones were due while every user was busy: they are dropped here.
        """
        arrival, source, drop = self.next, self._source, self._drop
        while arrival is not None and arrival[1] < free_since:
            drop((arrival[2], arrival[1]))
            arrival = next(source, None)
        self.next = next(source, None)  # None again once exhausted
        return arrival

    def drop_due(self, before: float) -> None:
        """Drop the unclaimed arrivals due before ``before``, once no user can be free for them.

        The load worker's bookkeeper calls this every 0.1 s, so arrivals missed while every user
        hangs on a slow target are counted in the second they were due, not when a user frees up.
        """
        arrival, source, drop = self.next, self._source, self._drop
        while arrival is not None and arrival[1] < before:
            drop((arrival[2], arrival[1]))
            arrival = next(source, None)
        self.next = arrival
