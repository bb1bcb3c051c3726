"""The base of the file writers: an event handler that renders the finished run into one file; and the
``Reporter`` protocol of plugins' own writers."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from harness.events import Event, EventHandler, RunFinished
from harness.model import RunResult


class Reporter(Protocol):
    """Writes one artefact of a run's report: what a plugin's ``harness_make_reporters`` hook returns."""

    name: str

    def write(self, run: RunResult, folder: Path) -> Path:
        """Render ``run`` into ``folder`` and return the file written."""
        ...


class FileWriter(EventHandler):
    """Writes ``file_name`` into the run folder when the run finishes; ``write`` also works on its own
    (``harness report`` re-renders from a saved ``readiness.json``)."""

    file_name = "report"

    def __init__(self) -> None:
        self.folder: Path | None = None

    def start(self, run_dir: Path) -> None:
        self.folder = run_dir

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished) and self.folder is not None:
            self.write(event.run, self.folder)

    def write(self, run: RunResult, folder: Path) -> Path:
        raise NotImplementedError
