"""Configuration precedence (CLI > HARNESS_* env > [tool.harness] > defaults) and its errors."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.config import HarnessConfig, load_config
from harness.errors import UsageError


def write_pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.harness]\n" + body)
    return path


def test_defaults_apply_when_nothing_is_set(tmp_path):
    config = load_config({}, environ={}, pyproject=tmp_path / "absent.toml")
    assert config == HarnessConfig()
    assert config.profile == "smoke" and config.platform.value == "local"


def test_each_layer_overrides_the_one_below(tmp_path):
    pyproject = write_pyproject(tmp_path, 'profile = "stress"\nbackend = "postgres"\nload_workers = 2\nseed = 1\n')
    environ = {"HARNESS_PROFILE": "spike", "HARNESS_SEED": "7", "HARNESS_ALLOW_HOSTS": "a.test, b.test"}
    config = load_config({"profile": "soak"}, environ=environ, pyproject=pyproject)
    assert config.profile == "soak"  # CLI beats env and file
    assert config.seed == 7  # env beats file
    assert config.backend == "postgres" and config.load_workers == 2  # file beats defaults
    assert config.allow_hosts == ["a.test", "b.test"]  # env lists are comma-separated


def test_unset_cli_flags_do_not_mask_lower_layers(tmp_path):
    pyproject = write_pyproject(tmp_path, 'profile = "stress"\n')
    assert load_config({"profile": None, "allow_hosts": []}, environ={}, pyproject=pyproject).profile == "stress"


def test_bad_value_names_file_key_and_allowed_values(tmp_path):
    pyproject = write_pyproject(tmp_path, 'backend = "oracle"\n')
    with pytest.raises(UsageError) as err:
        load_config({}, environ={}, pyproject=pyproject)
    message = str(err.value)
    assert str(pyproject) in message and "backend" in message and "sqlite, postgres" in message


def test_unknown_key_lists_known_keys(tmp_path):
    pyproject = write_pyproject(tmp_path, 'profle = "smoke"\n')
    with pytest.raises(UsageError, match=r"unknown key 'profle'.*known keys: .*profile"):
        load_config({}, environ={}, pyproject=pyproject)


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(UsageError, match=r"environment variable HARNESS_PLATFORM: .*allowed: local, kind, external"):
        load_config({}, environ={"HARNESS_PLATFORM": "mainframe"}, pyproject=tmp_path / "absent.toml")


def test_malformed_toml_is_a_usage_error(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.harness\nprofile = ")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config({}, environ={}, pyproject=path)


toml_values = st.one_of(
    st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n\r'), max_size=12).map(lambda s: f'"{s} x"'),
    st.lists(st.integers(), max_size=3).map(str),
)
keys = st.sampled_from(["platform", "backend", "load_workers", "startup_timeout_s", "profile", "severity_threshold",
                        "target_url", "nonsense_key", "redis"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, value=toml_values)
def test_fuzzed_malformed_config_exits_4_without_traceback(tmp_path, monkeypatch, capsys, key, value):
    """Whatever garbage is in [tool.harness], `harness run` either accepts it or exits 4 with one line."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.harness]\n{key} = {value}\n")
    monkeypatch.chdir(tmp_path)
    import harness.cli as cli
    import harness.plugins
    from harness.suites import SuiteSpec

    ran = []
    monkeypatch.setattr(cli, "_launch_pytest", lambda args, config: ran.append(args) or 0)
    monkeypatch.setattr(harness.plugins, "resolve_suites", lambda names: [SuiteSpec(name="x", path=tmp_path)])
    code = main(["run"])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    if code != 0:
        assert code == 4, out.err
        assert "pyproject.toml" in out.err and (key in out.err or "not valid TOML" in out.err)
        assert len(out.err.strip().splitlines()) == 1
        assert not ran
