"""``harness gameday run FILE`` and ``harness gameday schedule FILE --emit ...``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(name="gameday", help="Scheduled game days: chaos experiments in sequence under load, with "
                  "guardrails, webhooks and one report.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="a game-day file (scenarios/gamedays/*.yaml)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="validate and print the plan; touch nothing")]


# the run settings a game day takes from flags (the option table: also HARNESS_*); the rest is the file's
RUN_OPTIONS = ("report_dir", "defects", "allow_hosts", "seed", "kind_cluster", "keep_cluster")


def run(file: FileArg, dry_run: DryRunOpt = False, **options: Any) -> None:
    """Run a game day: one report, exit 0 ready / 1 not ready / 2 aborted (guardrail, Ctrl-C, SIGTERM).

    The file, everything it names and the settings are validated first: a bad one exits 4 before anything starts.
    """
    from harness.gameday.plan import describe
    from harness.gameday.runner import GameDayRunner
    from harness.options import option_layer
    from harness.preflight import prepare_gameday

    plan, config = prepare_gameday(file, option_layer(options))
    if dry_run:
        for line in describe(plan):
            console.print(line, highlight=False, markup=False)
        if config.defects:
            console.print(f"defects switched on: {', '.join(config.defects)}", highlight=False)
        console.print("dry run: nothing was started", style="bold")
        return
    runner = GameDayRunner(plan, config, progress=lambda line: err.print(f"  ⋯ {line}", highlight=False, markup=False))
    code = runner.run()
    result = runner.context.result
    day = result.gameday
    if day is not None:
        err.print(f"hypothesis {day.hypothesis_verdict}: {day.verdict_reason}", highlight=False, markup=False)
    err.print(f"verdict: {result.verdict.value} (exit {code}) · report: {runner.run_dir}/readiness.html",
              highlight=False, markup=False)
    raise typer.Exit(code)


def _run_signature() -> None:
    import inspect

    from harness.options import command_parameters, set_signature

    head = [inspect.Parameter("file", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=FileArg),
            inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DryRunOpt)]
    set_signature(run, head + command_parameters(RUN_OPTIONS))


_run_signature()
app.command("run")(run)


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
