"""Login and setup before a run: "try again later" is honoured (bounded), a refusal ends the run clearly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.load import LoadGeneratorError, run_load
from harness.load.profile import parse_profile
from harness.platforms.base import Identity, Target
from tests.stand_in import Reply, Request, stand_in

pytestmark = pytest.mark.integration

USER = Identity(name="tester", username="tester", password="secret", tenant="t1", role="user")
PROFILE = parse_profile({"name": "t", "stages": [{"duration_s": 1.5, "rate": 10}], "max_users": 5,
                         "operations": [{"name": "create", "method": "POST", "path": "/items", "json": {"n": 1},
                                         "identities": ["tester"]}]}, "test")


class WarmingUpApi:
    """Answers the first ``unavailable`` logins 503 with ``Retry-After: 1``, then like a healthy service."""

    def __init__(self, unavailable: int) -> None:
        self.unavailable = unavailable
        self.logins = 0

    def __call__(self, request: Request) -> Reply:
        if request.path == "/auth/login":
            self.logins += 1
            if self.logins <= self.unavailable:
                return Reply(503, {"detail": "database unreachable"}, {"Retry-After": "1"})
            return Reply(200, {"access_token": "t"})
        return Reply(201, {"id": 1})


@contextmanager
def warming_up(unavailable: int) -> Iterator[tuple[WarmingUpApi, Target]]:
    api = WarmingUpApi(unavailable)
    with stand_in(api) as url:
        yield api, Target(base_url=url, identities={"tester": USER})


def test_a_login_answered_503_is_retried_after_retry_after(tmp_path: Path) -> None:
    with warming_up(unavailable=2) as (api, target):
        result = run_load(PROFILE, target, out_dir=tmp_path)
    assert api.logins == 3
    assert result.requests == result.scheduled == 15 and result.errors == 0


def test_a_login_that_stays_unavailable_ends_the_run_with_the_answer(tmp_path: Path) -> None:
    with warming_up(unavailable=100) as (api, target):
        with pytest.raises(LoadGeneratorError, match=r"setup failed: login as tester at POST /auth/login answered 503: .*unavailable.*after 5 attempt"):
            run_load(PROFILE, target, out_dir=tmp_path)
    assert api.logins == 5  # bounded: no retry loop past the fifth attempt
