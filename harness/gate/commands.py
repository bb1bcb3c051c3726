"""``harness gate`` and ``harness baseline save|show``: the CI side of the harness."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness.gate.baseline import DEFAULT_DIR

console = Console(soft_wrap=True)  # one reason per line, never wrapped: CI logs are grepped

BaselineDirOpt = Annotated[Path, typer.Option("--baseline-dir", help="where named baselines live (commit it)")]


def gate(
    report: Annotated[list[Path], typer.Argument(help="readiness.json or a run folder (e.g. reports/latest); "
                                                        "several are judged as one run")],
    policy: Annotated[Path | None, typer.Option(help="policy YAML (default: severity threshold medium)")] = None,
    waivers: Annotated[Path | None, typer.Option(help="waivers YAML (in addition to the policy's own)")] = None,
    baseline: Annotated[str | None, typer.Option(help="compare with a baseline: a name in --baseline-dir or a .json path")] = None,
    baseline_dir: BaselineDirOpt = DEFAULT_DIR,
    summary_md: Annotated[Path | None, typer.Option("--summary-md", help="append a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")] = None,
) -> None:
    """Judge a report against a policy (and a baseline); the exit code is the CI gate's answer."""
    from harness.gate.baseline import load_baseline
    from harness.gate.evaluate import evaluate
    from harness.gate.policy import load_policy
    from harness.gate.reports import load_reports
    from harness.gate.summary import headline, terminal_lines, write_markdown
    from harness.gate.waivers import load_waivers

    # every input is read (and refused with exit 4) before anything is judged
    policy_model = load_policy(policy)
    extra_waivers = load_waivers(waivers) if waivers else []
    baseline_model = load_baseline(baseline, baseline_dir) if baseline else None
    run_result, file = load_reports(report)
    result = evaluate(run_result, policy_model, waivers=extra_waivers, baseline=baseline_model,
                      policy_source=str(policy or "default"))
    colour = {0: "green", 1: "red", 2: "yellow", 6: "yellow"}.get(int(result.exit_code), "white")
    console.print(f"[bold {colour}]{escape(headline(result, file))}[/]")
    for style, text in terminal_lines(result):
        console.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
    if summary_md:
        write_markdown(result, file, summary_md)
    raise typer.Exit(int(result.exit_code))


baseline_app = typer.Typer(help="Store a run as a baseline, or show one (small JSON files you commit).",
                           no_args_is_help=True)


@baseline_app.command("save")
def save(
    run: Annotated[list[Path], typer.Argument(help="a run folder or readiness.json (e.g. reports/latest); several "
                                                   "are stored as one baseline")],
    name: Annotated[str, typer.Option(help="the baseline's name, e.g. main")] = "main",
    baseline_dir: BaselineDirOpt = DEFAULT_DIR,
) -> None:
    """Store the run's metrics, check statuses, finding fingerprints and claim verdicts as <dir>/<name>.json."""
    from harness.gate.baseline import checked_name, from_run, save_baseline
    from harness.gate.reports import load_reports

    run_result, _ = load_reports(run)
    stored = from_run(run_result, checked_name(name))
    path = save_baseline(stored, baseline_dir)
    console.print(f"wrote {path}: {len(stored.metrics)} metrics, {len(stored.checks)} checks, "
                  f"{len(stored.findings)} findings, {len(stored.claims)} claims from run {stored.run_id}")


@baseline_app.command("show")
def show(
    baseline: Annotated[str, typer.Argument(help="a name in --baseline-dir or a .json path")] = "main",
    baseline_dir: BaselineDirOpt = DEFAULT_DIR,
) -> None:
    """Print what a baseline holds."""
    from harness.gate.baseline import FAILING, load_baseline
    from harness.gate.compare import fmt

    stored = load_baseline(baseline, baseline_dir)
    console.print(escape(stored.describe()))
    for name, metric in stored.metrics.items():
        console.print(f"  {name}: {fmt(metric.value, metric.unit)} ({metric.samples} samples)")
    failing = sorted(cid for cid, status in stored.checks.items() if status in FAILING)
    console.print(f"  {len(stored.checks)} checks, failing: {', '.join(failing) or 'none'}")
    for fingerprint, finding in stored.findings.items():
        console.print(f"  finding {fingerprint}: {finding.check_id} ({finding.severity.value}) {escape(finding.location)}")


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
    app.add_typer(baseline_app, name="baseline")
