"""The load engine: YAML profiles, an open-model arrival schedule, Locust in subprocesses, HDR histograms.

Public API::

    from harness.load import load_profile, LoadRun, run_load
    profile = load_profile("smoke", {"stages.0.rate": 50})
    result = run_load(profile, target, workers=2, out_dir=run_dir / "load")
    checks = result.to_checks()

Importing this package never imports Locust or gevent: generators are subprocesses.
"""

from harness.load.hdr import LatencyStats
from harness.load.profile import LoadProfile, Operation, Stage, Thresholds, load_profile
from harness.load.result import GeneratorHealth, LabelTotals, LoadResult, ThresholdResult, TrendResult
from harness.load.runner import LoadGeneratorError, LoadRun, run_load
from harness.load.schedule import Arrival, arrivals, expected_arrivals

__all__ = [
    "Arrival", "GeneratorHealth", "LabelTotals", "LatencyStats", "LoadGeneratorError", "LoadProfile",
    "LoadResult", "LoadRun", "Operation", "Stage", "ThresholdResult", "Thresholds", "TrendResult",
    "arrivals", "expected_arrivals", "load_profile", "run_load",
]
