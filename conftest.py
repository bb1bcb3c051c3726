"""Repo-level conftest: makes the harness plugin available to this repo's own suites and tests.

When the package is installed (``pip install -e .``) pytest loads the plugin through its
``pytest11`` entry point; only when that did not happen (plugin autoload disabled, or the repo
used without installing) is it loaded from here, so it is never registered twice.
"""

import os
from importlib.metadata import entry_points


def _plugin_autoloaded() -> bool:
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.value == "harness.pytest_plugin" for ep in entry_points(group="pytest11"))


pytest_plugins = [] if _plugin_autoloaded() else ["harness.pytest_plugin"]
