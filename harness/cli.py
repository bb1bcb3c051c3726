"""The ``harness`` command: run suites, gate a report, re-render, diagnose, export the schema."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError, UsageError
from harness.exitcodes import ExitCode

app = typer.Typer(
    name="harness",
    help="Readiness harness: turn production-readiness claims into verdicts with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

PytestArgOpt = Annotated[list[str] | None, typer.Option("--pytest-arg", metavar="ARG",
                                                       help="extra pytest argument (repeatable)")]


def run(pytest_arg: PytestArgOpt = None, **options: Any) -> None:
    """Run suites through pytest and write reports/<run-id>/ (exit code = verdict).

    Every input the run names is read and validated first: a bad one exits 4 before anything starts.
    """
    from harness.options import option_layer
    from harness.plugins import resolve_suites
    from harness.preflight import prepare

    config = load_config(option_layer(options))
    specs = resolve_suites(config.suites)
    if not specs:
        raise UsageError("no suites are installed; is the harness package installed (pip install -e .)?")
    config = prepare(config, specs)
    args = [str(spec.path) for spec in specs] + ["-p", "no:cacheprovider", "-q", *(pytest_arg or [])]
    os.environ.setdefault("HARNESS_TRIGGER", "cli")
    raise typer.Exit(_launch_pytest(args, config))


def _run_signature() -> None:
    """``harness run``'s flags: one per ``HarnessConfig`` field (``harness.options``), then ``--pytest-arg``."""
    import inspect

    from harness.options import command_parameters, set_signature

    parameters = command_parameters()
    parameters.append(inspect.Parameter("pytest_arg", inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=PytestArgOpt))
    set_signature(run, parameters)


_run_signature()
app.command("run")(run)


def _launch_pytest(args: list[str], config: HarnessConfig) -> int:
    """pytest in this process, handed the validated configuration whole (``PreparedConfig``); the
    plugin turns the run's verdict into pytest's exit status."""
    import pytest

    from harness.pytest_plugin import PreparedConfig

    return int(pytest.main(args, plugins=[PreparedConfig(config)]))


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a run folder containing readiness.json")]) -> None:
    """Re-render readiness.html (and junit.xml) from a run folder's readiness.json."""
    from harness.report.folder import load_report
    from harness.report.html import HtmlWriter
    from harness.report.junit import JUnitWriter

    run_result, file = load_report(run_dir)
    for writer in (HtmlWriter(), JUnitWriter()):
        console.print(f"wrote {writer.write(run_result, file.parent)}")


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
    document: Annotated[str, typer.Argument(help="readiness (default), policy, waivers, baseline, claims or gameday")] = "readiness",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    check: Annotated[bool, typer.Option(help="exit 1 if an exported schema in harness/schema/ differs from the code")] = False,
) -> None:
    """Print (or write) the JSON Schema of readiness.json, a gate policy, a waivers file, a baseline, a claims file or a game-day file."""
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


@app.command("init")
def init(
    target_url: Annotated[str, typer.Option(help="base URL of the running system")],
    openapi_url: Annotated[str | None, typer.Option(help="its OpenAPI: URL or file (default <URL>/openapi.json)")] = None,
    identity: Annotated[list[str] | None, typer.Option(help="test identity name=username:password (repeatable)")] = None,
    username: Annotated[str | None, typer.Option(help="one identity's username (typed when not given)")] = None,
    password: Annotated[str | None, typer.Option(help="its password (typed, hidden, when not given)")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="target file to write")] = Path("harness-target.yaml"),
    load_output: Annotated[Path, typer.Option(help="starter load profile to write")] = Path("harness-load.yaml"),
    allow_host: Annotated[list[str] | None, typer.Option(help="allow a non-loopback host (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
) -> None:
    """Find the login of a running system from its spec, try it, and write a target file + load profile."""
    from harness.init import init_target, parse_identity

    people = [parse_identity(text) for text in identity or []]
    if not people:
        if username is None and sys.stdin.isatty():
            username = typer.prompt("username of a test identity")
        if username is None:
            raise UsageError("give --identity name=username:password, or --username and --password")
        if password is None:
            password = typer.prompt(f"password of {username}", hide_input=True) if sys.stdin.isatty() else None
        if password is None:
            raise UsageError("give --password (or run in a terminal to type it)")
        people = [("user", username, password)]
    written, load_written, found = init_target(target_url, people, openapi=openapi_url, allow_hosts=allow_host or [],
                                               out=output, load_out=load_written_default(load_output, output),
                                               force=force)
    how = "form" if found.login.form else "JSON"
    console.print(f"login: POST {found.login.path} ({how}, {', '.join(found.login.body)}), credential "
                  f"{found.credential.source} ({found.tried} attempt(s))")
    console.print(f"wrote {written} and {load_written}; run: harness run --target {written}")


def load_written_default(load_output: Path, output: Path) -> Path:
    """The load profile next to the target file unless a path was given."""
    return load_output if load_output.parent != Path(".") or output.parent == Path(".") else output.parent / load_output


@app.command("suites")
def list_suites() -> None:
    """List the installed suites (entry-point group harness.suites)."""
    from harness.plugins import registered_suites

    table = Table("suite", "description", "path")
    for spec in registered_suites().values():
        table.add_row(spec.name, spec.description, str(spec.path))
    console.print(table)


claims_app = typer.Typer(help="Claims files: draft one from a status report.", no_args_is_help=True)
app.add_typer(claims_app, name="claims")


@claims_app.command("extract")
def claims_extract(
    document: Annotated[Path, typer.Argument(help="a markdown status report, e.g. STATUS.md")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the claims file here")] = None,
) -> None:
    """Draft a claims file: every testable claim with its numbers, every other claim-bearing line as untestable."""
    from harness.claims.extract import extract_file

    claims = extract_file(document)
    text = claims.to_yaml()
    testable = len(claims.testable())
    summary = (f"{len(claims.claims)} claims from {document}: {testable} testable, "
               f"{len(claims.claims) - testable} untestable (each with the line it quotes)")
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}: {summary}")
    else:
        sys.stdout.write(text)
        err_console.print(summary)


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
