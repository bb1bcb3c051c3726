"""``--seed N`` finds the Hypothesis database of the newest earlier run with that seed and profile."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.contract.rerun import previous_database


def earlier_run(reports: Path, name: str, seed: int, profile: str = "smoke", age_s: float = 0) -> Path:
    contract = reports / name / "contract"
    (contract / "hypothesis-db").mkdir(parents=True)
    artifact = contract / "run.json"
    artifact.write_text(json.dumps({"seed": seed, "profile": {"name": profile}}))
    os.utime(artifact, (artifact.stat().st_mtime - age_s,) * 2)
    return contract / "hypothesis-db"


def test_the_newest_run_with_the_same_seed_and_profile_lends_its_database(tmp_path: Path) -> None:
    earlier_run(tmp_path, "run-old", seed=7, age_s=60)
    newest = earlier_run(tmp_path, "run-new", seed=7, age_s=10)
    earlier_run(tmp_path, "run-other-seed", seed=8)
    earlier_run(tmp_path, "run-other-profile", seed=7, profile="full")
    (tmp_path / "latest").symlink_to(tmp_path / "run-new")  # reports/latest: the same run again
    assert previous_database(tmp_path, 7, "smoke") == newest
    older = tmp_path / "run-old" / "contract" / "hypothesis-db"
    assert previous_database(tmp_path, 7, "smoke", exclude=tmp_path / "run-new") == older
    assert previous_database(tmp_path, 9, "smoke") is None


def test_a_partial_or_unreadable_run_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken" / "contract").mkdir(parents=True)
    (tmp_path / "broken" / "contract" / "run.json").write_text("{not json")
    assert previous_database(tmp_path, 7, "smoke") is None
    assert previous_database(tmp_path / "no-such-folder", 7, "smoke") is None
