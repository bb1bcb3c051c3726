"""``harness gameday schedule FILE --emit cronjob|github-actions|systemd``: a manifest for a scheduler you run.

No scheduler daemon of our own: the game day's ``schedule.cron`` becomes a Kubernetes ``CronJob``
(``emit_kubernetes``), a GitHub Actions workflow (``emit_github``) or a systemd timer + service
(``emit_systemd``). Each runs ``harness gameday run`` once per firing and never two at a time.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import UsageError
from harness.gameday.plan import Plan, make_plan

EMITTERS = ("cronjob", "github-actions", "systemd")
REPO_ROOT = Path(__file__).resolve().parents[2]


def job_name(plan: Plan) -> str:
    """A DNS-1123 name for the job: ``gameday-<file stem>``."""
    slug = re.sub(r"[^a-z0-9-]+", "-", plan.source.stem.lower()).strip("-")
    return f"gameday-{slug}"[:52].rstrip("-")  # CronJob names: at most 52 characters


def repo_relative(path: Path) -> str:
    """The file as the scheduled job sees it: relative to the repository when it lives there."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path.resolve())


def cron_of(plan: Plan) -> str:
    if plan.day.schedule is None:
        raise UsageError(f"{plan.source}: schedule: missing; add schedule: {{cron: '0 9 * * 2'}} (minute hour "
                         "day-of-month month day-of-week, UTC)")
    return plan.day.schedule.cron


def render_schedule(path: Path, emit: str, *, image: str | None = None, namespace: str = "harness") -> str:
    if emit not in EMITTERS:
        raise UsageError(f"--emit {emit!r}: allowed: {', '.join(EMITTERS)}")
    plan = make_plan(path)
    cron_of(plan)
    if emit == "cronjob":
        from harness.gameday.emit_kubernetes import render_cronjob

        return render_cronjob(plan, image=image, namespace=namespace)
    if emit == "github-actions":
        from harness.gameday.emit_github import render_workflow

        return render_workflow(plan)
    from harness.gameday.emit_systemd import render_units

    return render_units(plan)
