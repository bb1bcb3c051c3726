"""Chaos on a system the user runs: a docker container (kill, pause, network disconnect through the Docker
SDK) and a plain process named by its command line (kill and restart, pause) - the same experiment format,
undo log and guardrails as on the local platform, driven only by the target file's ``chaos.components``.

The container is a ~1 MB image built here from the static busybox binary (``docker import``; no registry is
reachable), serving a static OpenAPI document and two GETs. Skipped, with the reason, where no docker
daemon answers. Every container, network and process the test starts is removed afterwards.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import PlatformError
from harness.faults.undo import UndoLog
from harness.platforms import undo_kinds
from harness.platforms.base import Target
from harness.platforms.external import ExternalPlatform
from harness.platforms.external_faults import docker_client, matching_processes
from harness.platforms.local.supervisor import free_port
from tests.foreign.conftest import checks, run_harness
from tests.platforms.conftest import wait_http

pytestmark = [pytest.mark.integration, pytest.mark.slow]
IMAGE = "harness-foreign/httpd:1"
SPEC = {"openapi": "3.0.3", "info": {"title": "static", "version": "1"},
        "paths": {"/healthz": {"get": {"responses": {"200": {"description": "ok"}}}},
                  "/status": {"get": {"responses": {"200": {"description": "ok"}}}}}}


def site(folder: Path) -> Path:
    (folder / "www").mkdir(parents=True, exist_ok=True)
    (folder / "www" / "openapi.json").write_text(json.dumps(SPEC))
    (folder / "www" / "healthz").write_text("ok\n")
    (folder / "www" / "status").write_text("up\n")
    return folder / "www"


@pytest.fixture(scope="module")
def docker():  # type: ignore[no-untyped-def]
    try:
        client = docker_client()
    except PlatformError as exc:
        pytest.skip(f"docker chaos needs a docker daemon: {exc}")
    if shutil.which("busybox") is None:
        pytest.skip("the test image is built from a static busybox (apt-get install busybox-static)")
    try:
        client.images.get(IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound: build it (~1 MB, no registry)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(shutil.which("busybox"), arcname="bin/busybox")
        subprocess.run(["docker", "import", "--change", 'CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", '
                        '"/www"]', "-", IMAGE], input=buffer.getvalue(), check=True, capture_output=True, timeout=120)
    return client


@pytest.fixture
def container(docker, tmp_path: Path) -> Iterator[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    """A running busybox httpd container on a network of its own: (name, network, host port)."""
    tag = uuid.uuid4().hex[:8]
    network = docker.networks.create(f"harness-foreign-net-{tag}")
    port = free_port()
    www = site(tmp_path)
    started = docker.containers.run(IMAGE, name=f"harness-foreign-httpd-{tag}", detach=True, network=network.name,
                                    ports={"8080/tcp": ("127.0.0.1", port)},
                                    volumes={str(www): {"bind": "/www", "mode": "ro"}})
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield started.name, network.name, port
    finally:
        started.remove(force=True)
        network.remove()


def test_container_chaos_from_the_target_file(container, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name, network, port = container
    target = {"base_url": f"http://127.0.0.1:{port}",
              "chaos": {"components": {"web": {"container": name, "network": network}}}}
    code, report, output = run_harness(target, tmp_path / "run", "--suite", "chaos")
    assert report, output
    faults = {(f["fault"], f["target"]) for f in report["timeline"]}
    assert {("kill", "web"), ("pause", "web"), ("network_disconnect", "web")} <= faults, report["timeline"]
    assert all(f["ended_at"] and f["rolled_back"] for f in report["timeline"]), report["timeline"]
    assert judged(report) == {"component_kill_web", "component_pause_web", "network_disconnect_web"}
    assert code != 2, "a guardrail or interrupt aborted the run"
    assert docker_state(name) == "running"
    assert UndoLog(tmp_path / "run" / ".harness", undo_kinds()).pending() == []  # nothing left behind


def judged(report: dict) -> set[str]:
    """Experiments that measured a recovery - or were declared inconclusive because the load generator itself
    was unhealthy (a loaded 2-core machine; the harness then says so instead of judging)."""
    out = set()
    for check in checks(report):
        experiment = check["id"].split(".")[1]
        if (check["id"].endswith(".recovery") and check["status"] == "pass") or (check["id"].endswith(".hypothesis") and check["status"] == "skipped" \
                and "load generator unhealthy" in check["message"]):
            out.add(experiment)
    return out


def docker_state(name: str) -> str:
    container = docker_client().containers.get(name)
    container.reload()
    return str(container.status)


def test_a_fault_a_killed_run_left_behind_is_undone_at_the_next_start(container, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name, network, port = container
    extra = {"chaos_components": {"web": {"container": name, "network": network}}}
    first = ExternalPlatform(Target(base_url=f"http://127.0.0.1:{port}", extra=extra), state_dir=tmp_path)
    first.start()
    first.pause("web")
    first.disconnect("web")  # and then the harness "dies": no stop(), no rollback
    assert docker_state(name) == "paused"
    second = ExternalPlatform(Target(base_url=f"http://127.0.0.1:{port}", extra=extra), state_dir=tmp_path)
    second.start()
    assert docker_state(name) == "running" and len(second.cleaned_up) == 2, second.cleaned_up
    wait_http(f"http://127.0.0.1:{port}/healthz")


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, int, list[str]]]:
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site(tmp_path))]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    match = f"http.server {port}"
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield match, port, argv
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for left in matching_processes(match):  # the one the kill experiment started again
            left.kill()


def test_process_chaos_by_command_line(server_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    match, port, argv = server_process
    target = {"base_url": f"http://127.0.0.1:{port}",
              "chaos": {"components": {"server": {"command": match, "restart": argv}}}}
    _code, report, output = run_harness(target, tmp_path / "run", "--suite", "chaos")
    assert report, output
    faults = {(f["fault"], f["target"]) for f in report["timeline"]}
    assert {("kill", "server"), ("pause", "server")} <= faults, report["timeline"]
    assert all(f["ended_at"] for f in report["timeline"])
    assert judged(report) == {"component_kill_server", "component_pause_server"}
    assert len(matching_processes(match)) == 1  # started again after the kill, exactly once
    assert UndoLog(tmp_path / "run" / ".harness", undo_kinds()).pending() == []


def test_chaos_without_components_is_not_applicable_with_the_reason(tmp_path: Path) -> None:
    from tests.foreign import tickets_app

    with tickets_app.serve(tickets_app.make_app()) as base_url:
        code, report, _output = run_harness(tickets_app.target_file(base_url), tmp_path, "--suite", "chaos")
    (check,) = [c for c in checks(report) if c["suite"] == "chaos"]
    assert check["status"] == "not_applicable" and "chaos.components" in check["message"]
    assert code == 5  # nothing ran, and the report says why
