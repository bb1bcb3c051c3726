"""Traffic goes only to allowed hosts: loopback by default, others only when named."""

import socket

import pytest

from harness.cli import main
from harness.errors import DisallowedHostError
from harness.exitcodes import ExitCode
from harness.safety import ensure_allowed, is_allowed


@pytest.mark.parametrize("target", ["http://127.0.0.1:8000", "127.0.0.5", "http://localhost/x", "http://[::1]:80/"])
def test_loopback_is_allowed_by_default(target):
    assert is_allowed(target)


@pytest.mark.parametrize("target", ["http://10.0.0.1", "https://example.com", "http://192.168.1.1:80", "203.0.113.1"])
def test_other_hosts_are_refused_by_default(target):
    with pytest.raises(DisallowedHostError, match="--allow-host"):
        ensure_allowed(target)


def test_allow_host_opens_exactly_that_host():
    assert is_allowed("https://staging.example.test/api", ["staging.example.test"])
    assert not is_allowed("https://prod.example.test/api", ["staging.example.test"])


def test_disallowed_target_exits_4_before_any_connection(monkeypatch, capsys):
    attempts = []
    real_connect = socket.socket.connect

    def spy(self, address):
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    assert main(["run", "--target-url", "http://203.0.113.7:8080"]) == ExitCode.USAGE_ERROR
    assert attempts == []
    assert "refusing to send traffic to '203.0.113.7'" in capsys.readouterr().err


def test_disallowed_openapi_url_exits_4_even_with_a_loopback_target(monkeypatch, capsys):
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    code = main(["run", "--target-url", "http://127.0.0.1:9", "--openapi-url", "https://198.51.100.9/openapi.json"])
    assert code == ExitCode.USAGE_ERROR and attempts == []
    assert "refusing to send traffic to '198.51.100.9'" in capsys.readouterr().err


def test_pytest_plugin_refuses_a_disallowed_target(tmp_path):
    from tests.conftest import run_harness_pytest

    result = run_harness_pytest(tmp_path, "http://198.51.100.3:80")
    assert result.returncode == ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "--allow-host 198.51.100.3" in result.stderr
    assert not (tmp_path / "reports").exists()
