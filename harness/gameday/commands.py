"""``harness gameday run FILE`` and ``harness gameday schedule FILE --emit ...``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(name="gameday", help="Scheduled game days: chaos experiments in sequence under load, with "
                  "guardrails, webhooks and one report.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="a game-day file (scenarios/gamedays/*.yaml)")]


@app.command("run")
def run(
    file: FileArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and print the plan; touch nothing")] = False,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="folder for run reports")] = None,
    defects: Annotated[str | None, typer.Option(help="reference-system defect switches to add, comma-separated")] = None,
    allow_host: Annotated[list[str] | None, typer.Option(help="allow a non-loopback target host (repeatable)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed for the background load")] = None,
) -> None:
    """Run a game day: one report, exit 0 ready / 1 not ready / 2 aborted (guardrail, Ctrl-C, SIGTERM)."""
    from harness.gameday.plan import describe, make_plan
    from harness.gameday.runner import GameDayRunner
    from harness.gameday.target import day_config, ensure_runnable

    plan = make_plan(file)  # every input error is exit 4 here, before anything starts
    names = [d.strip() for d in defects.split(",") if d.strip()] if defects else None
    config = day_config(plan, report_dir=report_dir, defects=names, allow_hosts=allow_host, seed=seed)
    if dry_run:
        for line in describe(plan):
            console.print(line, highlight=False, markup=False)
        if config.defects:
            console.print(f"defects switched on: {', '.join(config.defects)}", highlight=False)
        console.print("dry run: nothing was started", style="bold")
        return
    ensure_runnable(plan, config)
    runner = GameDayRunner(plan, config, progress=lambda line: err.print(f"  ⋯ {line}", highlight=False, markup=False))
    code = runner.run()
    result = runner.context.result
    day = result.gameday
    if day is not None:
        err.print(f"hypothesis {day.hypothesis_verdict}: {day.verdict_reason}", highlight=False, markup=False)
    err.print(f"verdict: {result.verdict.value} (exit {code}) · report: {runner.run_dir}/readiness.html",
              highlight=False, markup=False)
    raise typer.Exit(code)


@app.command("schedule")
def schedule(
    file: FileArg,
    emit: Annotated[str, typer.Option("--emit", help="cronjob, github-actions or systemd")],
    image: Annotated[str, typer.Option(help="cronjob: the harness image")] = "",
    namespace: Annotated[str, typer.Option(help="cronjob: namespace the job runs in")] = "harness",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
) -> None:
    """Print a ready manifest for a scheduler you already run (Kubernetes CronJob, GitHub Actions, systemd timer)."""
    from harness.gameday.emit import render_schedule

    text = render_schedule(file, emit, image=image or None, namespace=namespace)
    if output is not None:
        output.write_text(text)
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="gameday")
