"""Terminal progress: ``Progress`` events as status lines while long work runs."""

from __future__ import annotations

from collections.abc import Callable

from harness.events import Event, EventHandler, Progress


class TerminalProgress(EventHandler):
    """Writes each ``Progress`` text through ``write_line`` (the pytest plugin passes one that gets past
    output capture), prefixed ``⋯``."""

    name = "terminal"

    def __init__(self, write_line: Callable[[str], None]) -> None:
        self.write_line = write_line

    def handle(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.write_line(f"  ⋯ {event.text}")
