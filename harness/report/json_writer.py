"""``readiness.json``: the ``RunResult`` itself, the report every other one is derived from."""

from __future__ import annotations

from pathlib import Path

from harness.model import RunResult
from harness.report.writer import FileWriter

READINESS_JSON = "readiness.json"


class JsonWriter(FileWriter):
    name = "json"
    file_name = READINESS_JSON
    required = True  # without it there is no report: a failure here fails the run

    def write(self, run: RunResult, folder: Path) -> Path:
        path = folder / READINESS_JSON
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(run.model_dump_json(indent=2))
        tmp.replace(path)  # readers never see a half-written report
        return path
