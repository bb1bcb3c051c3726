"""The allowlist covers every request of the security suite: the spec URL and absolute URLs, not just base_url."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.errors import DisallowedHostError
from harness.platforms.base import Target
from harness.security.client import ProbeClient
from harness.security.context import ProbeContext
from tests.stand_in import Reply, Request, stand_in

REPO = Path(__file__).resolve().parents[2]
ELSEWHERE = "http://203.0.113.7/openapi.json"  # TEST-NET-3: never routed, and never contacted here


@contextmanager
def counting_server() -> Iterator[tuple[str, list[Request]]]:
    """A loopback HTTP server that answers 200 to everything and records each request."""
    requests: list[Request] = []
    with stand_in(lambda request: Reply(200, {"openapi": "3.1.0", "paths": {}}), requests=requests) as url:
        yield url, requests


def paths(requests: list[Request]) -> list[str]:
    return [request.path for request in requests]


def test_a_disallowed_spec_url_is_refused_before_any_request():
    with counting_server() as (base_url, seen):
        with pytest.raises(DisallowedHostError, match=r"--allow-host 203\.0\.113\.7"):
            ProbeContext.open(Target(base_url=base_url, openapi_url=ELSEWHERE))
        assert paths(seen) == []
        ctx = ProbeContext.open(Target(base_url=base_url, openapi_url=f"{base_url}/openapi.json"))
        ctx.close()
        assert paths(seen) == ["/openapi.json"]  # the same target with a loopback spec URL is fine


def test_the_probe_client_refuses_absolute_urls_on_other_hosts():
    with counting_server() as (base_url, seen), ProbeClient(base_url) as client:
        with pytest.raises(DisallowedHostError):
            client.get("http://203.0.113.7/steal")
        assert client.sent == 0 and paths(seen) == []
        assert client.get(f"{base_url}/fine").status_code == 200 and client.get("/relative").status_code == 200
        assert paths(seen) == ["/fine", "/relative"]


def test_allow_host_admits_a_named_spec_host():
    with counting_server() as (base_url, seen):
        spec_url = base_url.replace("127.0.0.1", "localhost") + "/openapi.json"
        ProbeContext.open(Target(base_url=base_url, openapi_url=spec_url), allow_hosts=["localhost"]).close()
        assert paths(seen) == ["/openapi.json"]


def test_a_spec_file_is_read_from_disk_and_names_no_host(tmp_path):
    spec = tmp_path / "openapi.yaml"
    spec.write_text("openapi: 3.1.0\npaths:\n  /things:\n    get: {responses: {}}\n")
    with counting_server() as (base_url, seen):
        for source in (str(spec), f"file://{spec}"):
            ctx = ProbeContext.open(Target(base_url=base_url, openapi_url=source))
            ctx.close()
            assert [op.key for op in ctx.spec.operations] == ["GET /things"]
        assert paths(seen) == []


def test_cli_run_with_a_disallowed_openapi_url_exits_4_without_sending_anything(tmp_path):
    with counting_server() as (base_url, seen):
        env = {**os.environ, "HARNESS_OPENAPI_URL": ELSEWHERE}
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--suite", "security", "--target-url", base_url,
             "--report-dir", str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-3000:]
    assert "refusing to send traffic to '203.0.113.7'" in output and "--allow-host 203.0.113.7" in output
    assert "Traceback" not in output
    assert paths(seen) == []  # not even the target's own base URL was touched
