"""Fixtures for the load engine's tests: the selftest target app, run in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.load.selftest_app import serve_selftest_app
from harness.platforms.base import Identity, Target

SELFTEST_USER = Identity(name="tester", username="tester", password="secret", tenant="t1", role="user")


@pytest.fixture(scope="session")
def selftest_url() -> Iterator[str]:
    """A shared selftest app (``/slow`` sleeps 300 ms); do not stall this one."""
    with serve_selftest_app({"SELFTEST_SLOW_MS": "300"}) as url:
        yield url


@pytest.fixture(scope="session")
def selftest_target(selftest_url: str) -> Target:
    return Target(base_url=selftest_url, identities={"tester": SELFTEST_USER})
