"""A game day as a systemd timer + service pair.

The service is ``Type=oneshot`` (a timer never starts it again while it runs: no overlap); stopping it
sends SIGTERM, which aborts the day the way Ctrl-C does (rollbacks, report, exit 2). The timer's
``OnCalendar`` is the day's cron expression converted exactly: croniter expands each field to the
values it allows, written as systemd lists and ranges. Cron's day-of-month *or* day-of-week rule has no
systemd equivalent (it ANDs them), so a cron restricting both is refused (exit 4).
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from croniter import croniter

from harness.errors import UsageError
from harness.gameday.emit import REPO_ROOT, cron_of, job_name
from harness.gameday.plan import Plan

DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
START_MARGIN_S = 600


def _runs(values: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in sorted(set(values)):
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _field(values: Sequence[int | str], *, names: list[str] | None = None, width: int = 2) -> str:
    if list(values) == ["*"]:
        return "*"
    parts = []
    for low, high in _runs([int(v) for v in values]):
        show = (lambda v: names[v]) if names else (lambda v: f"{v:0{width}d}")
        parts.append(show(low) if low == high else f"{show(low)}..{show(high)}")
    return ",".join(parts)


def on_calendar(cron: str) -> str:
    """``0 9 * * 2`` -> ``Tue *-*-* 09:00:00`` (UTC)."""
    minute, hour, dom, month, dow = croniter(cron).expanded[:5]
    if dom != ["*"] and dow != ["*"]:
        raise UsageError(f"schedule.cron {cron!r}: restricting both day-of-month and day-of-week means 'either' in "
                         "cron and 'both' in systemd; use one of them for --emit systemd")
    days = "" if dow == ["*"] else _field(sorted({int(d) % 7 for d in dow}), names=DAYS) + " "  # 7 is Sunday too
    return f"{days}*-{_field(month)}-{_field(dom)} {_field(hour)}:{_field(minute)}:00 UTC"


def harness_executable() -> str:
    found = Path(sys.executable).with_name("harness")
    return str(found) if found.exists() else (shutil.which("harness") or "/usr/local/bin/harness")


def render_units(plan: Plan) -> str:
    name = job_name(plan)
    service, timer = units(plan)
    return (f"# --- {name}.service ---\n{service}\n# --- {name}.timer ---\n{timer}"
            f"# install: copy both to /etc/systemd/system/, then systemctl enable --now {name}.timer\n")


def units(plan: Plan) -> tuple[str, str]:
    """(service unit text, timer unit text)."""
    name = job_name(plan)
    day = plan.day
    timeout = math.ceil(day.guardrails.max_duration_s) + START_MARGIN_S
    service = "\n".join([
        "[Unit]",
        f"Description=Game day: {day.title} (owner {day.owner})",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={REPO_ROOT}",
        "Environment=HARNESS_TRIGGER=gameday",
        f"Environment=HARNESS_STATE_DIR={REPO_ROOT}/.harness",
        f"ExecStart={harness_executable()} gameday run {plan.source.resolve()} --report-dir {REPO_ROOT}/reports",
        "# exit 1 (not ready), 2 (aborted) and 6 (inconclusive) are verdicts, shown as a failed unit on purpose",
        f"TimeoutStartSec={timeout}",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=60",
        "",
    ])
    timer = "\n".join([
        "[Unit]",
        f"Description=Schedule of the game day {day.title}",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar(cron_of(plan))}",
        f"Unit={name}.service",
        "AccuracySec=1min",
        "Persistent=false",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    return service, timer
