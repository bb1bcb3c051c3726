"""The pytest plugin: options, fixtures that record checks, and the readiness report at the end.

Registered through the ``pytest11`` entry point. A run's report is written only when some test
used a harness fixture, so installing the harness never litters unrelated test sessions.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.claims.model import ClaimsFile, load_claims_file
from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError
from harness.events import (
    CheckRecorded,
    EnvironmentNoted,
    EventHandler,
    HarnessFailed,
    SuiteFinished,
    SuiteStarted,
    TargetAttached,
)
from harness.model import Check, Severity, Status
from harness.options import config_options, describe, option_layer
from harness.platforms.base import Platform, Target
from harness.preflight import prepare, suites_under
from harness.recording import CheckRecorder, FindingRecorder, slug, suite_name_for
from harness.run_context import RunContext, relative_to_cwd
from harness.safety import ensure_allowed

CONFIG_KEY = pytest.StashKey[HarnessConfig]()
CONTEXT_KEY = pytest.StashKey[RunContext]()
INTERRUPTED_KEY = pytest.StashKey[str]()
CLAIMS_KEY = pytest.StashKey[ClaimsFile | None]()
STARTED_SUITES_KEY = pytest.StashKey[set[str]]()


class PreparedConfig:
    """A configuration ``harness run`` already loaded and validated, handed to ``pytest.main`` whole
    (``plugins=[PreparedConfig(config)]``): the plugin uses it instead of reading options again."""

    def __init__(self, config: HarnessConfig) -> None:
        self.config = config


def pytest_addoption(parser: pytest.Parser) -> None:
    """One option per ``HarnessConfig`` field (``harness.options``), all read as text and validated once."""
    group = parser.getgroup("harness", "readiness harness")
    for option in config_options():
        if not option.pytest:
            continue
        if option.is_bool:
            group.addoption(option.flag, action=argparse.BooleanOptionalAction, dest=option.dest, default=None,
                            help=describe(option))
        elif option.is_list:
            group.addoption(option.flag, action="append", dest=option.dest, default=[], help=describe(option),
                            metavar=option.metavar)
        else:
            group.addoption(option.flag, dest=option.dest, help=describe(option), metavar=option.metavar)
    group.addoption("--no-harness-report", action="store_true", dest="harness_no_report",
                    help="do not write a readiness report for this session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "harness_suite(name): attribute the test's checks to this suite")
    prepared = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, PreparedConfig)), None)
    if prepared is not None:
        harness_config = prepared.config
    else:
        try:
            values = {o.key: config.getoption(o.dest) for o in config_options() if o.pytest}
            harness_config = load_config(option_layer(values), pyproject=Path.cwd() / "pyproject.toml")
            # every input the selected suites will read, before any system starts (exit 4 otherwise)
            harness_config = prepare(harness_config, suites_under(config.args, config.invocation_params.dir))
        except HarnessError as exc:
            raise pytest.UsageError(str(exc)) from None
    try:  # validated by prepare (harness run's or the one above): read again for the claims step and the suites
        claims = load_claims_file(harness_config.claims) if harness_config.claims else None
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONFIG_KEY] = harness_config
    config.stash[CLAIMS_KEY] = claims
    _install_sigterm_handler()


def _install_sigterm_handler() -> None:
    """SIGTERM behaves like Ctrl-C: pytest unwinds, fixtures clean up, a partial report is written."""

    def _raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")

    try:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (e.g. pytest run inside a worker thread)
        pass


# -- the run context and suite attribution ---------------------------------------------


def _context(config: pytest.Config) -> RunContext:
    if CONTEXT_KEY not in config.stash:
        harness_config = config.stash[CONFIG_KEY]
        context = RunContext(harness_config, handlers=_handlers(config, harness_config),
                             claims=config.stash.get(CLAIMS_KEY, None))
        from harness.plugins import plugin_manager

        for facts in plugin_manager().hook.harness_environment_info(config=harness_config):
            context.emit(EnvironmentNoted(facts=facts or {}))
        config.stash[CONTEXT_KEY] = context
    return config.stash[CONTEXT_KEY]


def _handlers(config: pytest.Config, harness_config: HarnessConfig) -> list[EventHandler]:
    """The built-in writers and terminal progress, then what plugins add (handlers, legacy reporters)."""
    from harness.plugins import plugin_manager
    from harness.report import ReporterWriter, builtin_writers
    from harness.report.terminal import TerminalProgress

    hook = plugin_manager().hook
    rules = {rule_id: rule for batch in hook.harness_sarif_rules() for rule_id, rule in (batch or {}).items()}
    handlers: list[EventHandler] = [*builtin_writers(rules), TerminalProgress(_terminal_line_writer(config))]
    handlers += [ReporterWriter(r) for batch in hook.harness_make_reporters(config=harness_config) for r in batch or []]
    handlers += [h for batch in hook.harness_event_handlers(config=harness_config) for h in batch or []]
    return handlers


def _terminal_line_writer(config: pytest.Config) -> Callable[[str], None]:
    """Write a line to the real terminal even while pytest captures the test's output."""

    def write(text: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or config.get_verbosity() < -1:
            return
        if capture is None:
            reporter.write_line(text)
            return
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(text)

    return write


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    """The merged, validated configuration of this run."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def harness_claims(pytestconfig: pytest.Config) -> ClaimsFile:
    """The run's claims file (``--claims`` / ``[tool.harness] claims``), empty without one.

    Suites read the numbers of the claims they verify from it (``harness_claims.with_params("rate_limit")``)
    and record the checks run with those numbers with the claim ids (``record_check(claims=[...])``).
    """
    return pytestconfig.stash.get(CLAIMS_KEY, None) or ClaimsFile()


@pytest.fixture(scope="session")
def harness_run(pytestconfig: pytest.Config) -> RunContext:
    """The run being recorded: ``.emit(event)`` (``harness.events``), ``.run_dir``, ``.config``."""
    return _context(pytestconfig)


def _suite_spec_for(path: Path):
    from harness.plugins import registered_suites

    for spec in registered_suites().values():
        if spec.path.resolve() == path or spec.path.resolve() in path.parents:
            return spec
    return None


@pytest.fixture(scope="package")
def harness_platform(
    request: pytest.FixtureRequest, harness_config: HarnessConfig, harness_run: RunContext
) -> Iterator[Platform]:
    """The started platform (local refsys by default), stopped after the package that declares it.

    Declared here it lives for the whole session. A suite that wants a fresh system of its own (so
    another suite's traffic — rate-limit windows, lockouts, data — cannot change what it measures)
    re-declares it in its conftest.py: ``from harness.pytest_plugin import harness_platform,
    harness_target``. Its ``SuiteSpec.platform_env`` then applies to its own start.
    """
    from harness.platforms import make_platform

    spec = _suite_spec_for(Path(str(request.node.path)).resolve())
    name = spec.name if spec else slug(Path(str(request.node.path)).name)
    env = dict(spec.platform_env) if spec else {}
    capture = request.config.pluginmanager.getplugin("capturemanager")
    try:
        platform = make_platform(harness_config, log_dir=harness_run.run_dir / "logs" / name, env=env)
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            target = platform.__enter__()  # start-up progress (kind: builds, rollouts) reaches the terminal
    except HarnessError as exc:
        error = f"platform failed to start: {exc}"
        harness_run.emit(HarnessFailed(error=error))
        pytest.exit(error, returncode=int(exc.exit_code))
    harness_run.emit(TargetAttached(base_url=target.base_url, openapi_url=target.openapi_url))
    harness_run.emit(EnvironmentNoted(facts=platform.environment()))
    if env and platform.name != "external":
        facts = {f"platform_env[{name}]": ", ".join(f"{k}={v}" for k, v in sorted(env.items()))}
        harness_run.emit(EnvironmentNoted(facts=facts))
    platform.target = target  # type: ignore[attr-defined]
    try:
        yield platform
    finally:
        platform.__exit__(None, None, None)


@pytest.fixture(scope="package")
def harness_target(harness_platform: Platform, harness_config: HarnessConfig) -> Target:
    """How suites reach the system under test (base URL, OpenAPI URL, identities)."""
    target: Target = harness_platform.target  # type: ignore[attr-defined]
    ensure_allowed(target.base_url, harness_config.allow_hosts)
    return target


@pytest.fixture
def record_check(request: pytest.FixtureRequest, harness_run: RunContext) -> CheckRecorder:
    """Record a ``Check`` (object or fields); the test fails if any check it recorded failed or errored."""
    return CheckRecorder(harness_run, request.node)


@pytest.fixture
def record_finding(request: pytest.FixtureRequest, harness_run: RunContext) -> FindingRecorder:
    """Record a ``Finding`` (object or fields): a defect with a stable fingerprint, for SARIF and baselines."""
    return FindingRecorder(harness_run, request.node)


# -- a test's outcome mirrors its checks -----------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Open the suite's result when its first test starts, so its clock covers platform start-up too."""
    if _is_suite_test(item):
        started = item.config.stash.setdefault(STARTED_SUITES_KEY, set())
        suite = suite_name_for(item)
        if suite not in started:
            started.add(suite)
            _context(item.config).emit(SuiteStarted(suite=suite))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Close the suite's result after its last test (before its platform is stopped)."""
    started = item.config.stash.get(STARTED_SUITES_KEY, set())
    suite = suite_name_for(item)
    if suite in started and (nextitem is None or suite_name_for(nextitem) != suite):
        _context(item.config).emit(SuiteFinished(suite=suite))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                             pytest.TestReport]:
    report: pytest.TestReport = yield
    config = item.config
    if CONTEXT_KEY not in config.stash:
        return report
    context = config.stash[CONTEXT_KEY]
    recorded = context.checks_by_test.get(item.nodeid, [])
    if report.when == "call":
        failing = [c for c in recorded if c.blocks]  # claim-only checks decide claims, not the test
        if report.passed and failing:
            report.outcome = "failed"
            report.longrepr = "\n".join(
                f"{c.status.value.upper()} {c.id} ({c.severity.value}): {c.message or c.title}" for c in failing
            )
        elif report.passed and recorded and all(c.status in (Status.SKIPPED, Status.NOT_APPLICABLE, Status.INCONCLUSIVE)
                                                for c in recorded):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, recorded[0].message or "not applicable")
    if report.failed and not recorded and _is_suite_test(item):
        _record_crash(context, item, report, call)
    return report


def _is_suite_test(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", [])
    return "record_check" in fixtures or "harness_target" in fixtures


def _record_crash(context: RunContext, item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """A suite test that crashed without recording anything still shows up in the report."""
    suite = suite_name_for(item)
    is_assert = report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
    text = [call.excinfo.exconly()] if call.excinfo is not None else str(report.longrepr).strip().splitlines()
    context.emit(CheckRecorded(check=Check(
            id=f"{slug(suite)}.{report.when}.{slug(item.name)}",
            suite=suite,
            category="harness",
            title=f"{item.name} ({report.when})",
            severity=Severity.HIGH,
            status=Status.FAIL if is_assert else Status.ERROR,
            message=(text[-1] if text else "failed")[:500],
            test_nodeid=item.nodeid,
    )))


# -- the report at session end ---------------------------------------------------------


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    pass  # the session's exit status (2) tells pytest_sessionfinish that it was interrupted


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if CONTEXT_KEY not in config.stash or config.getoption("harness_no_report"):
        return
    context = config.stash[CONTEXT_KEY]
    aborted = None
    if int(exitstatus) == int(pytest.ExitCode.INTERRUPTED):
        aborted = "interrupted (SIGINT/SIGTERM) before the run finished; this report is partial"
    judgement = context.finish(aborted_reason=aborted)
    config.stash[INTERRUPTED_KEY] = aborted or ""
    # a usage error or internal error raised by pytest.exit keeps its own code
    keep = int(exitstatus) in (int(pytest.ExitCode.USAGE_ERROR), int(pytest.ExitCode.INTERNAL_ERROR))
    session.exitstatus = int(exitstatus) if keep and not aborted else int(judgement.exit_code)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if CONTEXT_KEY not in config.stash or config.getoption("harness_no_report"):
        return
    context = config.stash[CONTEXT_KEY]
    run = context.result
    terminalreporter.section("readiness")
    terminalreporter.write_line(
        f"verdict: {run.verdict.value} (exit {run.exit_code}) · report: {relative_to_cwd(context.run_dir)}/readiness.html"
    )
    if context.claims is not None:
        from harness.claims.fold import summary_line

        terminalreporter.write_line(summary_line(run.claims, str(context.config.claims or "")))
    for failure in context.handler_failures:
        terminalreporter.write_line(f"report handler failed (the others were written): {failure}", yellow=True)
