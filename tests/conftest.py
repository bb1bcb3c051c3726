"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SUITE = REPO / "tests" / "example_suite" / "example_checks.py"


@pytest.fixture
def example_server() -> Iterator[Callable[..., str]]:
    """Start tests/example_suite/server.py with flags; returns its base URL. Stopped on teardown."""
    processes: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.example_suite.server", *flags],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        processes.append(proc)
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip())
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in processes:
        proc.terminate()
        proc.wait(timeout=10)


def run_harness_pytest(
    tmp_path: Path, target_url: str, *extra: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the example suite in a child pytest, exactly as a user would, into tmp_path/reports."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE_SUITE), "--target-url", target_url,
         "--report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider", "-q", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
