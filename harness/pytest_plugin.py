"""The pytest plugin: options, fixtures that record checks, and the readiness report at the end.

Registered through the ``pytest11`` entry point. A run's report is written only when some test
used a harness fixture, so installing the harness never litters unrelated test sessions.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError, UsageError
from harness.model import Check, Evidence, Severity, Status
from harness.platforms.base import Platform, Target
from harness.policy import load_policy
from harness.run_context import RunContext, relative_to_cwd
from harness.safety import ensure_allowed, ensure_urls_allowed

CONFIG_KEY = pytest.StashKey[HarnessConfig]()
CONTEXT_KEY = pytest.StashKey[RunContext]()
INTERRUPTED_KEY = pytest.StashKey[str]()

_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--platform", {"dest": "harness_platform", "help": "local (default), kind or external"}),
    ("--target-url", {"dest": "harness_target_url", "help": "base URL of a running system (implies external)"}),
    ("--openapi-url", {"dest": "harness_openapi_url", "help": "the target's OpenAPI: URL, file:// URL or file path"}),
    ("--profile", {"dest": "harness_profile", "help": "profile name for every suite (default smoke)"}),
    ("--report-dir", {"dest": "harness_report_dir", "help": "folder for run reports (default reports/)"}),
    ("--allow-host", {"dest": "harness_allow_hosts", "action": "append", "default": [],
                      "help": "allow traffic to this non-loopback host (repeatable)"}),
    ("--backend", {"dest": "harness_backend", "help": "reference-system storage: sqlite (default) or postgres"}),
    ("--defects", {"dest": "harness_defects", "help": "comma-separated reference-system defect switches"}),
    ("--policy", {"dest": "harness_policy", "help": "gate policy YAML (rules, levels, waivers; docs/gate.md)"}),
    ("--seed", {"dest": "harness_seed", "type": int, "help": "seed for randomised suites (replay)"}),
    ("--load-workers", {"dest": "harness_load_workers", "type": int, "help": "load generator processes"}),
    ("--identities", {"dest": "harness_identities_file", "help": "YAML file with the target's test identities"}),
    ("--load-set", {"dest": "harness_load_overrides", "action": "append", "default": [],
                    "help": "override a load profile value, e.g. stages.0.rate=50 (repeatable)"}),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "readiness harness")
    for flag, kwargs in _OPTIONS:
        group.addoption(flag, **kwargs)
    group.addoption("--no-harness-report", action="store_true", dest="harness_no_report",
                    help="do not write a readiness report for this session")


def _cli_layer(config: pytest.Config) -> dict[str, Any]:
    defects = config.getoption("harness_defects")
    return {
        "platform": config.getoption("harness_platform"),
        "target_url": config.getoption("harness_target_url"),
        "openapi_url": config.getoption("harness_openapi_url"),
        "profile": config.getoption("harness_profile"),
        "report_dir": config.getoption("harness_report_dir"),
        "allow_hosts": config.getoption("harness_allow_hosts"),
        "backend": config.getoption("harness_backend"),
        "defects": [d.strip() for d in defects.split(",") if d.strip()] if defects else None,
        "policy": config.getoption("harness_policy"),
        "seed": config.getoption("harness_seed"),
        "load_workers": config.getoption("harness_load_workers"),
        "identities_file": config.getoption("harness_identities_file"),
        "load_overrides": config.getoption("harness_load_overrides"),
    }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "harness_suite(name): attribute the test's checks to this suite")
    try:
        harness_config = load_config(_cli_layer(config), pyproject=Path.cwd() / "pyproject.toml")
        if harness_config.policy:
            harness_config.severity_threshold = load_policy(harness_config.policy).severity_threshold
        # refuse a disallowed target (or OpenAPI URL) before any request is sent
        ensure_urls_allowed([harness_config.target_url, harness_config.openapi_url], harness_config.allow_hosts)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONFIG_KEY] = harness_config
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
        from harness.plugins import plugin_manager

        context = RunContext(config.stash[CONFIG_KEY])
        context.set_progress_writer(_terminal_line_writer(config))
        for facts in plugin_manager().hook.harness_environment_info(config=context.config):
            context.add_environment(facts or {})
        config.stash[CONTEXT_KEY] = context
    return config.stash[CONTEXT_KEY]


def _terminal_line_writer(config: pytest.Config):  # type: ignore[no-untyped-def]
    """Write a line to the real terminal even while pytest captures the test's output."""

    def write(text: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or config.get_verbosity() < -1:
            return
        if capture is None:
            reporter.write_line(f"  ⋯ {text}")
            return
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(f"  ⋯ {text}")

    return write


def suite_name_for(item: pytest.Item) -> str:
    """Which suite a test's checks belong to: marker, registered suite folder, or its folder."""
    marker = item.get_closest_marker("harness_suite")
    if marker and marker.args:
        return str(marker.args[0])
    path = Path(str(item.path)).resolve()
    try:
        from harness.plugins import registered_suites

        for spec in registered_suites().values():
            if spec.path.resolve() in path.parents:
                return spec.name
    except HarnessError:
        pass
    parts = path.parts
    if "suites" in parts[:-1]:
        return parts[parts.index("suites") + 1]
    return _slug(path.parent.name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"


class CheckRecorder:
    """What the ``record_check`` fixture returns: call it to record one check."""

    def __init__(self, context: RunContext, item: pytest.Item) -> None:
        self._context = context
        self._item = item
        self.suite = suite_name_for(item)
        self._started = time.monotonic()

    def __call__(
        self,
        *,
        id: str,
        title: str,
        status: Status | str,
        severity: Severity | str = Severity.MEDIUM,
        category: str = "general",
        message: str = "",
        evidence: Evidence | None = None,
        claims: list[str] | None = None,
        owasp: list[str] | None = None,
        cwe: list[str] | None = None,
        duration_s: float | None = None,
    ) -> Check:
        check = Check(
            id=id,
            suite=self.suite,
            category=category,
            title=title,
            severity=Severity(severity),
            status=Status(status),
            message=message,
            evidence=evidence or Evidence(),
            claims=claims or [],
            owasp=owasp or [],
            cwe=cwe or [],
            duration_s=duration_s if duration_s is not None else time.monotonic() - self._started,
            test_nodeid=self._item.nodeid,
        )
        from harness.plugins import plugin_manager

        for changed in plugin_manager().hook.harness_modify_check(check=check, config=self._context.config):
            if changed is not None:
                check = changed
        self._started = time.monotonic()
        return self._context.record(check, self._item.nodeid)

    @property
    def recorded(self) -> list[Check]:
        return list(self._context.checks_by_test.get(self._item.nodeid, []))


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    """The merged, validated configuration of this run."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def harness_run(pytestconfig: pytest.Config) -> RunContext:
    """The run being recorded: ``.run_dir``, ``.suite(name)``, ``.add_fault(...)``, ``.config``."""
    return _context(pytestconfig)


def _suite_spec_for(path: Path):  # type: ignore[no-untyped-def]
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
    name = spec.name if spec else _slug(Path(str(request.node.path)).name)
    env = dict(spec.platform_env) if spec else {}
    capture = request.config.pluginmanager.getplugin("capturemanager")
    try:
        platform = make_platform(harness_config, log_dir=harness_run.run_dir / "logs" / name, env=env)
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            target = platform.__enter__()  # start-up progress (kind: builds, rollouts) reaches the terminal
    except HarnessError as exc:
        harness_run.result.error = f"platform failed to start: {exc}"
        pytest.exit(harness_run.result.error, returncode=int(exc.exit_code))
    harness_run.set_target(target.base_url, target.openapi_url)
    harness_run.add_environment(platform.environment())
    if env and platform.name != "external":
        harness_run.add_environment({f"platform_env[{name}]": ", ".join(f"{k}={v}" for k, v in sorted(env.items()))})
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
    """Record a ``Check``; the test fails if any check it recorded failed or errored."""
    return CheckRecorder(harness_run, request.node)


# -- a test's outcome mirrors its checks -----------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Open the suite's result when its first test starts, so its clock covers platform start-up too."""
    if _is_suite_test(item):
        _context(item.config).suite(suite_name_for(item))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    config = item.config
    if CONTEXT_KEY not in config.stash:
        return
    context = config.stash[CONTEXT_KEY]
    recorded = context.checks_by_test.get(item.nodeid, [])
    if report.when == "call":
        failing = [c for c in recorded if c.is_failure]
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


def _is_suite_test(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", [])
    return "record_check" in fixtures or "harness_target" in fixtures


def _record_crash(context: RunContext, item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """A suite test that crashed without recording anything still shows up in the report."""
    suite = suite_name_for(item)
    is_assert = report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
    text = [call.excinfo.exconly()] if call.excinfo is not None else str(report.longrepr).strip().splitlines()
    context.record(
        Check(
            id=f"{_slug(suite)}.{report.when}.{_slug(item.name)}",
            suite=suite,
            category="harness",
            title=f"{item.name} ({report.when})",
            severity=Severity.HIGH,
            status=Status.FAIL if is_assert else Status.ERROR,
            message=(text[-1] if text else "failed")[:500],
            test_nodeid=item.nodeid,
        ),
        item.nodeid,
    )


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
    from harness.plugins import plugin_manager

    extra = [r for batch in plugin_manager().hook.harness_make_reporters(config=context.config) for r in batch or []]
    judgement = context.finish(aborted_reason=aborted, extra_reporters=extra)
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


def reraise_usage(exc: Exception) -> None:
    """Helper for suites: turn a ``UsageError`` into pytest's usage error (exit 4)."""
    if isinstance(exc, UsageError):
        raise pytest.UsageError(str(exc)) from None
    raise exc
