"""The ``harness`` command: run suites, gate a report, re-render, diagnose, export the schema."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from harness.config import load_config
from harness.errors import HarnessError, UsageError, error_location
from harness.exitcodes import ExitCode
from harness.model import RunResult

app = typer.Typer(
    name="harness",
    help="Readiness harness: turn production-readiness claims into verdicts with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

SuiteOpt = Annotated[Optional[list[str]], typer.Option("--suite", "-s", help="suite to run (repeatable; default all)")]
ProfileOpt = Annotated[Optional[str], typer.Option(help="profile for every suite: smoke, stress, spike, soak …")]
PlatformOpt = Annotated[Optional[str], typer.Option(help="local (default), kind or external")]
ReportDirOpt = Annotated[Optional[Path], typer.Option("--report-dir", help="folder for run reports")]


@app.command()
def run(
    suite: SuiteOpt = None,
    profile: ProfileOpt = None,
    platform: PlatformOpt = None,
    report_dir: ReportDirOpt = None,
    target_url: Annotated[Optional[str], typer.Option(help="base URL of a system you run (implies external)")] = None,
    openapi_url: Annotated[Optional[str], typer.Option(help="the target's OpenAPI: URL, file:// URL or file path")] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option(help="allow a non-loopback host (repeatable)")] = None,
    backend: Annotated[Optional[str], typer.Option(help="reference system storage: sqlite or postgres")] = None,
    defects: Annotated[Optional[str], typer.Option(help="reference system defect switches, comma-separated")] = None,
    policy: Annotated[Optional[Path], typer.Option(help="gate policy YAML")] = None,
    seed: Annotated[Optional[int], typer.Option(help="seed for randomised suites (replays a run)")] = None,
    load_workers: Annotated[Optional[int], typer.Option(help="load generator processes")] = None,
    identities: Annotated[Optional[Path], typer.Option(help="YAML file with the target's test identities")] = None,
    load_set: Annotated[Optional[list[str]], typer.Option("--load-set", help="load profile override KEY=VALUE, e.g. stages.0.rate=50 (repeatable)")] = None,
    pytest_arg: Annotated[Optional[list[str]], typer.Option("--pytest-arg", help="extra pytest argument (repeatable)")] = None,
) -> None:
    """Run suites through pytest and write reports/<run-id>/ (exit code = verdict)."""
    from harness.plugins import resolve_suites
    from harness.safety import ensure_urls_allowed

    cli_layer = {
        "platform": platform, "target_url": target_url, "openapi_url": openapi_url, "profile": profile,
        "report_dir": report_dir,
        "allow_hosts": allow_host, "backend": backend, "policy": policy, "seed": seed,
        "load_workers": load_workers, "identities_file": identities, "load_overrides": load_set,
        "defects": [d.strip() for d in defects.split(",") if d.strip()] if defects else None,
    }
    config = load_config(cli_layer)  # fail fast with exit 4 before pytest starts anything
    ensure_urls_allowed([config.target_url, config.openapi_url], config.allow_hosts)
    specs = resolve_suites(suite or [])
    if not specs:
        raise UsageError("no suites are installed; is the harness package installed (pip install -e .)?")
    args = [str(spec.path) for spec in specs] + ["-p", "no:cacheprovider", "-q"]
    flags = {
        "--platform": platform, "--target-url": target_url, "--openapi-url": openapi_url, "--profile": profile,
        "--report-dir": report_dir,
        "--backend": backend, "--defects": defects, "--policy": policy, "--seed": seed,
        "--load-workers": load_workers, "--identities": identities,
    }
    args += [item for flag, value in flags.items() if value is not None for item in (flag, str(value))]
    args += [item for host in allow_host or [] for item in ("--allow-host", host)]
    args += [item for override in load_set or [] for item in ("--load-set", override)]
    args += pytest_arg or []
    os.environ.setdefault("HARNESS_TRIGGER", "cli")
    raise typer.Exit(_launch_pytest(args))


def _launch_pytest(args: list[str]) -> int:
    """pytest in this process: the plugin turns the run's verdict into pytest's exit status."""
    import pytest

    return int(pytest.main(args))


def load_report(path: Path) -> tuple[RunResult, Path]:
    file = path / "readiness.json" if path.is_dir() else path
    if not file.is_file():
        raise UsageError(f"no report at {file}; pass a readiness.json or a run folder such as reports/latest")
    try:
        return RunResult.model_validate_json(file.read_text()), file
    except ValidationError as exc:
        where, message = error_location(exc)
        raise UsageError(f"{file}: not a readiness report ({where}: {message})") from None


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run folder containing readiness.json")]) -> None:
    """Re-render readiness.html (and junit.xml) from a run folder's readiness.json."""
    from harness.report.writers import HtmlReporter, JUnitReporter

    run_result, file = load_report(run_dir)
    for reporter in (HtmlReporter(), JUnitReporter()):
        console.print(f"wrote {reporter.write(run_result, file.parent)}")


@app.command()
def doctor(
    cleanup: Annotated[bool, typer.Option(help="undo faults a killed run left behind")] = False,
) -> None:
    """List what is present or missing, and what each missing thing disables."""
    from harness.doctor import diagnose

    table = Table("", "component", "found", "missing disables", "install hint")
    missing = 0
    for item in diagnose():
        missing += not item.present
        table.add_row("[green]✔[/]" if item.present else "[red]✘[/]", item.name, item.detail,
                      "" if item.present else item.disables, "" if item.present else item.hint)
    console.print(table)
    if cleanup:
        from harness.faults.undo import undo_pending
        from harness.platforms import undo_kinds

        undone = undo_pending(Path(os.environ.get("HARNESS_STATE_DIR", ".harness")), undo_kinds())
        console.print(f"cleanup: undid {len(undone)} leftover fault(s)" + "".join(f"\n  {u}" for u in undone))
    console.print(f"{missing} missing" if missing else "everything present")


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="readiness (default), policy, waivers, baseline or gameday")] = "readiness",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    check: Annotated[bool, typer.Option(help="exit 1 if an exported schema in harness/schema/ differs from the code")] = False,
) -> None:
    """Print (or write) the JSON Schema of readiness.json, a gate policy, a waivers file, a baseline or a game-day file."""
    from harness.schema import DOCUMENTS, EXPORTED, current_schema, exported_schema, render, schema_file

    if document not in DOCUMENTS:
        raise UsageError(f"unknown schema {document!r}; allowed: {', '.join(DOCUMENTS)}")
    if check:
        stale = [name for name in EXPORTED if exported_schema(name) != current_schema(name)]
        for name in EXPORTED:
            state = "OUT OF DATE: run harness schema " + name + " -o " + str(schema_file(name)) if name in stale else "up to date"
            console.print(f"{schema_file(name)}: {state}")
        raise typer.Exit(1 if stale else 0)
    text = render(current_schema(document))
    if output:
        output.write_text(text)
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@app.command("suites")
def list_suites() -> None:
    """List the installed suites (entry-point group harness.suites)."""
    from harness.plugins import registered_suites

    table = Table("suite", "description", "path")
    for spec in registered_suites().values():
        table.add_row(spec.name, spec.description, str(spec.path))
    console.print(table)


def _register_platform_commands() -> None:
    try:
        from harness.platforms.commands import register
    except ImportError:
        return
    register(app)


def _register_gate_commands() -> None:
    from harness.gate.commands import register

    register(app)


def _register_gameday_commands() -> None:
    from harness.gameday.commands import register

    register(app)


_register_gate_commands()
_register_platform_commands()
_register_gameday_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with documented exit codes, never a traceback for bad input."""
    try:
        result = app(args=argv, standalone_mode=False)
        return int(result or 0)
    except typer.Abort:
        err_console.print("[yellow]aborted[/]")
        return int(ExitCode.ABORTED)
    except TyperException as exc:  # typer's (vendored click) usage errors: bad flag, missing argument
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "harness"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err_console.print(f"[red]error:[/] {escape(message)} (see '{command} --help')")
        return int(ExitCode.USAGE_ERROR)
    except HarnessError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return int(ExitCode.ABORTED)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
