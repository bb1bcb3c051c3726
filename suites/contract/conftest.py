"""The contract suite gets a system of its own: the platform fixtures are re-declared at this package's scope."""

from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite
