"""Throttling is a state, not a verdict: the probe client waits out Retry-After (bounded), and an outcome that
rests on 429/503 answers becomes inconclusive instead of passing."""

from __future__ import annotations

import time

import httpx

from harness.model import Status
from harness.security.client import ProbeClient
from harness.security.probes.authz import BOLA
from harness.security.probes.ratelimit import ENFORCED


def client_answering(statuses: list[tuple[int, dict[str, str]]], **options: float) -> tuple[ProbeClient, list[float]]:
    """A ProbeClient whose server answers ``statuses`` in order (then 200); the send times are recorded."""
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        status, headers = statuses.pop(0) if statuses else (200, {})
        return httpx.Response(status, headers=headers, json={})

    client = ProbeClient("http://127.0.0.1:9", **options)  # type: ignore[arg-type]
    client._http = httpx.Client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    return client, sent


def test_a_429_with_retry_after_is_waited_out_and_sent_again() -> None:
    client, sent = client_answering([(429, {"Retry-After": "1"})])
    response = client.get("/things", headers={"Authorization": "Bearer a"})
    assert response.status_code == 200 and len(sent) == 2
    assert sent[1] - sent[0] >= 1.0
    assert client.log.since_last_outcome() == (0, 1)  # the probe's evidence is the 200, not the 429


def test_a_wait_beyond_the_budget_hands_the_429_to_the_probe_and_logs_it() -> None:
    client, sent = client_answering([(429, {"Retry-After": "120"})], max_retry_after_s=10)
    response = client.get("/things")
    assert response.status_code == 429 and len(sent) == 1
    assert client.log.since_last_outcome() == (1, 1) and client.pacer.gave_up == 1


def test_the_next_request_of_a_throttled_credential_waits_for_the_reset() -> None:
    client, sent = client_answering([(200, {"RateLimit": "limit=5, remaining=0, reset=1"})])
    client.get("/a", headers={"Authorization": "Bearer a"})
    client.get("/b", headers={"Authorization": "Bearer a"})
    assert sent[1] - sent[0] >= 1.0  # paced: the answer said the budget was spent for 1 s


def test_a_503_without_retry_after_is_an_answer_not_a_request_to_wait() -> None:
    client, sent = client_answering([(503, {})])
    assert client.get("/things").status_code == 503 and len(sent) == 1


def test_outcomes_resting_on_throttled_answers_are_inconclusive() -> None:
    passed = BOLA.passed("refused for bob")
    passed.throttled, passed.answers = 1, 3  # one of its three answers was a 429: it proves nothing
    assert passed.judged_on_throttling().status == Status.INCONCLUSIVE
    assert "throttled: 1 of 3" in passed.message
    failed = BOLA.failed("bob got 200")
    failed.throttled, failed.answers = 1, 3  # a 200 that leaked an object is evidence, whatever else was throttled
    assert failed.judged_on_throttling().status == Status.FAIL
    only = BOLA.failed("500 on …")
    only.throttled, only.answers = 2, 2
    assert only.judged_on_throttling().status == Status.INCONCLUSIVE
    measured = ENFORCED.passed("429 after 100")
    measured.throttled, measured.answers = 1, 101  # the rate-limit probe measures 429s: exempt
    assert measured.judged_on_throttling().status == Status.PASS
