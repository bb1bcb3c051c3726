"""The host checks and the runc wrapper, without a docker daemon."""

import json
import subprocess
from pathlib import Path

from harness.platforms.kind.cache import BUILD_DIR
from harness.platforms.kind.host import missing_capabilities

FULL = "CapBnd:\t000001ffffffffff\n"
NO_SYS_RESOURCE = "CapBnd:\t000001fffeffffff\n"  # measured on this project's VM


def test_full_bounding_set_needs_no_wrapper():
    assert missing_capabilities(FULL, last_cap=40) == []


def test_missing_sys_resource_is_detected():
    assert missing_capabilities(NO_SYS_RESOURCE, last_cap=40) == ["CAP_SYS_RESOURCE"]


def test_only_capabilities_the_kernel_knows_count():
    assert missing_capabilities("CapBnd:\t000000ffffffffff\n", last_cap=39) == []  # bit 40 unknown to this kernel


def _wrapper(tmp_path: Path) -> Path:
    real = tmp_path / "real-runc"
    real.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n')
    real.chmod(0o755)
    text = (BUILD_DIR / "runc-capfix.sh").read_text()
    wrapper = tmp_path / "runc"
    wrapper.write_text(text.replace("@DROP_CAPS@", json.dumps(["CAP_SYS_RESOURCE"])).replace("@REAL_RUNC@", str(real)))
    wrapper.chmod(0o755)
    return wrapper


def test_wrapper_strips_the_missing_capability_from_the_bundle(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    caps = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"]
    (bundle / "config.json").write_text(json.dumps({"process": {"capabilities": {
        "bounding": caps, "effective": caps, "permitted": caps}}}))
    wrapper = _wrapper(tmp_path)
    subprocess.run([str(wrapper), "--root", "/run/x", "create", "--bundle", str(bundle), "ctr-1"], check=True)
    config = json.loads((bundle / "config.json").read_text())
    assert config["process"]["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_SYS_ADMIN"]
    assert (tmp_path / "args").read_text().split() == ["--root", "/run/x", "create", "--bundle", str(bundle), "ctr-1"]


def test_wrapper_strips_it_from_an_exec_process_file(tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"capabilities": {"bounding": ["CAP_SYS_RESOURCE", "CAP_KILL"]}}))
    subprocess.run([str(_wrapper(tmp_path)), "exec", "--process", str(process), "ctr-1"], check=True)
    assert json.loads(process.read_text())["capabilities"]["bounding"] == ["CAP_KILL"]


def test_wrapper_passes_other_commands_through_untouched(tmp_path):
    subprocess.run([str(_wrapper(tmp_path)), "state", "ctr-1"], check=True)
    assert (tmp_path / "args").read_text().split() == ["state", "ctr-1"]


def test_doctor_names_the_path_this_machine_takes():
    from harness.platforms.kind.doctor import kind_facts

    facts = {f.name: f for f in kind_facts()}
    missing = missing_capabilities()
    assert ("runc wrapper" in facts["capabilities"].detail) == bool(missing)
    image = facts["kind node image"].detail
    if facts["docker daemon"].detail.startswith("running"):
        assert image.startswith(("offline build:", "pulled:", "custom:")), image
    else:
        assert "until a docker daemon runs" in image
