"""The target file: the issue's shape works as written, every bad key is a one-line usage error naming it,
the old ``--identities`` file keeps working, and the login spec reads credentials wherever they are."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from harness.cli import main
from harness.config import load_config
from harness.errors import UsageError
from harness.login import LoginFailed, LoginSpec, credential_from, login
from harness.platforms import target_from_config
from harness.platforms.base import Identity
from harness.targetfile import load_target

ISSUE_EXAMPLE = """
base_url: http://127.0.0.1:9000
openapi: ./openapi.json
login:
  path: /api/v1/auth/token
  form: true
  body: {email: "{username}", secret: "{password}"}
  token: data.jwt
identities:
  owner:   {username: a@x.test, password: pw1, tenant: a}
  other:   {username: b@x.test, password: pw2, tenant: b}
  admin:   {username: root@x.test, password: pw3, role: admin}
  robot:   {api_key: "k-123", header: X-API-Key}
  bearer:  {token: "t-456"}
  browser: {cookie: "sid=abc"}
hints: {docs_allowed: true, access_ttl_s: 300}
"""


def write(tmp_path: Path, text: str, spec: bool = True) -> Path:
    if spec:
        (tmp_path / "openapi.json").write_text('{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}')
    path = tmp_path / "target.yaml"
    path.write_text(text)
    return path


def test_the_issue_example_works_as_written(tmp_path: Path) -> None:
    target, _ = load_target(write(tmp_path, ISSUE_EXAMPLE))
    assert target.base_url == "http://127.0.0.1:9000" and target.openapi_url == str(tmp_path / "openapi.json")
    assert target.login.form and target.login.token == "data.jwt" and target.login_path == "/api/v1/auth/token"
    assert target.identities["owner"].tenant == "a" and target.identities["owner"].role == "user"
    assert target.identities["admin"].is_admin and target.identities["admin"].tenant is None
    assert not target.identities["robot"].logs_in and target.identities["browser"].cookie == "sid=abc"
    assert target.extra["docs_allowed"] is True and target.extra["access_ttl_s"] == 300


@pytest.mark.parametrize(("change", "says"), [
    ("base_url: ftp://x", "base_url: must start with http:// or https://"),
    ("login: {path: /t, body: {user: '{username}'}}", "login.body"),
    ("login: {path: /t, token: 'not a path!'}", "login.token"),
    ("identities: {owner: {username: a}}", "identities.owner: needs username and password"),
    ("identities: {owner: {username: a, password: b, tenat: x}}", "identities.owner.tenat: unknown key 'tenat'"),
    ("identities: {owner: {token: t, api_key: k}}", "give one static credential, not token and api_key"),
    ("hints: {public_operations: [products]}", "hints.public_operations"),
    ("hints: {docs_alowed: true}", "hints.docs_alowed: unknown key 'docs_alowed'"),
    ("claims: {rate_limit: {limit: 0, window_s: 60}}", "claims: rate_limit.limit"),
    ("chaos: {components: {api: {container: a, pid: 3}}}", "chaos.components.api"),
    ("fuzz: {exclude: [delete users]}", "fuzz.exclude"),
    ("colour: blue", "colour: unknown key 'colour'"),
])
def test_a_bad_key_is_named(tmp_path: Path, change: str, says: str) -> None:
    base = {"base_url": "http://127.0.0.1:9000"}
    data = {**base, **yaml.safe_load(change)}
    with pytest.raises(UsageError) as caught:
        load_target(write(tmp_path, yaml.safe_dump(data)))
    assert str(tmp_path / "target.yaml") in str(caught.value) and says in str(caught.value), str(caught.value)


def test_harness_run_refuses_a_bad_target_file_before_anything_starts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "base_url: http://127.0.0.1:9\nidentities: {a: {username: x}}\n")
    assert main(["run", "--target", str(path), "--report-dir", str(tmp_path / "r")]) == 4
    err = capsys.readouterr().err
    assert "identities" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_disallowed_host_in_the_target_file_exits_4(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "base_url: http://203.0.113.9:9000\n")
    assert main(["run", "--target", str(path), "--report-dir", str(tmp_path / "r")]) == 4
    assert "--allow-host 203.0.113.9" in capsys.readouterr().err


def test_config_key_target_and_flags_on_top(tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_EXAMPLE)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[tool.harness]\ntarget = "{path}"\n')
    config = load_config({"target_url": "http://127.0.0.1:9100"}, pyproject=pyproject, environ={})
    target = target_from_config(config)
    assert target.base_url == "http://127.0.0.1:9100"  # the flag wins over the file's base_url
    assert target.login.path == "/api/v1/auth/token"  # the rest still comes from the file


def test_the_old_identities_file_keeps_working(tmp_path: Path) -> None:
    identities = tmp_path / "ids.yaml"
    identities.write_text("alice: {username: a@x.test, password: pw, tenant: acme, role: user}\n"
                          "bob: {username: b@x.test, password: pw}\n")
    config = load_config({"target_url": "http://127.0.0.1:9000", "identities_file": identities}, environ={},
                         pyproject=tmp_path / "none.toml")
    target = target_from_config(config)
    assert set(target.identities) == {"alice", "bob"} and target.identities["bob"].tenant is None
    assert target.login.path == "/auth/login" and target.login.body == {"username": "{username}",
                                                                        "password": "{password}"}


def answer(status: int, body: object = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {}, request=httpx.Request("POST", "http://x/login"))


@pytest.mark.parametrize(("spec", "response", "sent_as"), [
    (LoginSpec(token="data.jwt"), answer(200, {"data": {"jwt": "J"}}), {"Authorization": "Bearer J"}),
    (LoginSpec(), answer(200, {"data": {"jwt": "J"}}), {"Authorization": "Bearer J"}),  # found without being told
    (LoginSpec(token="header:X-Auth"), answer(200, {}, {"X-Auth": "H"}), {"X-Auth": "H"}),
    (LoginSpec(token="cookie:sid"), answer(200, {}, {"Set-Cookie": "sid=C; HttpOnly"}), {"Cookie": "sid=C"}),
    (LoginSpec(), answer(200, {}, {"Set-Cookie": "sid=C; Secure"}), {"Cookie": "sid=C"}),
])
def test_credentials_are_read_where_the_login_spec_says(spec, response, sent_as) -> None:  # type: ignore[no-untyped-def]
    assert credential_from(response, spec).request_headers() == sent_as


def test_a_200_without_a_credential_is_a_failed_login() -> None:
    with pytest.raises(LoginFailed, match="without a credential"):
        credential_from(answer(200, {"data": None, "error": "bad credentials"}), LoginSpec(token="data.jwt"))


def test_form_login_fills_the_body_template() -> None:
    seen = {}

    def send(method: str, path: str, **kwargs: object) -> httpx.Response:
        seen.update(method=method, path=path, **kwargs)
        return answer(200, {"access_token": "T"})

    spec = LoginSpec(path="/login", form=True, body={"user": "{username}", "pass": "{password}", "tenant": "{tenant}"})
    credential = login(send, spec, Identity(name="a", username="alice", password="pw", tenant="acme"))
    assert seen == {"method": "POST", "path": "/login", "data": {"user": "alice", "pass": "pw", "tenant": "acme"}}
    assert credential.access == "T"
