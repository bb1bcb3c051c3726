"""Errors that carry their exit code and a one-line message saying what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.exitcodes import ExitCode

if TYPE_CHECKING:
    from pydantic import ValidationError


class HarnessError(Exception):
    """Base class: ``str(err)`` is shown to the user as one line, never a traceback."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR


class UsageError(HarnessError):
    """Bad flags, malformed scenario/policy/claims/config file, disallowed target (exit 4)."""

    exit_code = ExitCode.USAGE_ERROR


class DisallowedHostError(UsageError):
    """A target host is not on the allowlist: refused before any request is sent."""


class AbortedError(HarnessError):
    """A run was interrupted or a guardrail fired (exit 2)."""

    exit_code = ExitCode.ABORTED


class PlatformError(HarnessError):
    """A platform could not start, attach to or control the system under test."""

    exit_code = ExitCode.INTERNAL_ERROR


def error_location(exc: ValidationError) -> tuple[str, str]:
    """The dotted field path and message of pydantic's first error."""
    first = exc.errors()[0]
    return ".".join(str(part) for part in first["loc"]) or "(top level)", first["msg"]

