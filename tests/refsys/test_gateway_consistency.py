"""Read-your-writes across two gateway replicas sharing one SQLite file, with requests in flight at once.

Guards the claim the contract suite leans on: an analysis answered ``201`` is readable (and
deletable) by its owner on either replica straight away, however many requests are in flight.
The contract suite's intermittent "Created resource not found (HTTP 404)" was not a visibility
bug: schemathesis had deleted the analysis itself through ``DELETE /admin/analyses/{id}`` (as the
tenant admin) between the create and the read; the last test pins that this 404 is correct.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.refsys.conftest import ProcessHandle, login_sync

pytestmark = pytest.mark.integration

GATEWAY = "fixtures.refsys.gateway"
WORKERS = 8
ROUNDS = 12


def _replicas(start_process: Callable[..., ProcessHandle], gateway_env: dict[str, str]) -> list[str]:
    env = {**gateway_env, "REFSYS_RATE_LIMIT": "100000"}
    return [start_process(GATEWAY, {**env, "REFSYS_INSTANCE": name}, name=name).url
            for name in ("gateway-1", "gateway-2")]


def test_concurrent_create_then_read_and_delete_on_the_other_replica(
        start_process: Callable[..., ProcessHandle], gateway_env: dict[str, str]) -> None:
    urls = _replicas(start_process, gateway_env)
    owners = {who: login_sync(urls[0], who) for who in ("acme_user", "globex_user", "acme_admin")}

    def worker(number: int) -> list[str]:
        who = list(owners)[number % len(owners)]
        headers = owners[who]
        problems = []
        with httpx.Client(timeout=15, trust_env=False, headers=headers) as client:
            for index in range(ROUNDS):
                writer, reader = urls[(number + index) % 2], urls[(number + index + 1) % 2]
                created = client.post(f"{writer}/analyses", json={"text": f"worker {number} round {index}"})
                if created.status_code != 201:
                    problems.append(f"{who} POST {writer}: {created.status_code} {created.text[:200]}")
                    continue
                path = f"/analyses/{created.json()['id']}"
                answers = [("GET", reader, client.get(f"{reader}{path}")),
                           ("GET", writer, client.get(f"{writer}{path}")),
                           ("DELETE", reader, client.delete(f"{reader}{path}"))]
                problems += [f"{who} {method} {url}{path}: {answer.status_code} {answer.text[:200]}"
                             for method, url, answer in answers if answer.status_code not in (200, 204)]
        return problems

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        problems = [problem for result in pool.map(worker, range(WORKERS)) for problem in result]
    assert not problems, "\n".join(problems[:10])


def test_analysis_deleted_by_the_tenant_admin_is_gone_for_its_owner(
        start_process: Callable[..., ProcessHandle], gateway_env: dict[str, str]) -> None:
    """The sequence schemathesis' inferred links produce: a 404 after an admin delete is right."""
    one, two = _replicas(start_process, gateway_env)
    alice, adam = login_sync(one, "acme_user"), login_sync(one, "acme_admin")
    created = httpx.post(f"{one}/analyses", json={"text": "0"}, headers=alice, timeout=15, trust_env=False)
    assert created.status_code == 201, created.text
    analysis_id = created.json()["id"]
    deleted = httpx.delete(f"{two}/admin/analyses/{analysis_id}", headers=adam, timeout=10, trust_env=False)
    assert deleted.status_code == 204, deleted.text
    for url in (one, two):
        assert httpx.get(f"{url}/analyses/{analysis_id}", headers=alice, timeout=10, trust_env=False).status_code == 404
        assert httpx.delete(f"{url}/analyses/{analysis_id}", headers=alice, timeout=10,
                            trust_env=False).status_code == 404
