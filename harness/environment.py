"""What a report says about where it ran: versions, host, and what triggered the run."""

from __future__ import annotations

import os
import platform as host_platform
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness import __version__
from harness.model import EnvironmentInfo

REPORTED_PACKAGES = ["pytest", "locust", "schemathesis", "chaostoolkit-lib", "httpx", "pydantic", "hypothesis"]


def package_versions(names: list[str] = REPORTED_PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def environment_info(extra: dict[str, Any] | None = None) -> EnvironmentInfo:
    return EnvironmentInfo(
        harness_version=__version__,
        python=sys.version.split()[0],
        platform=host_platform.platform(),
        hostname=socket.gethostname(),
        cpu_count=os.cpu_count() or 1,
        packages=package_versions(),
        extra=extra or {},
    )


def detect_trigger() -> str:
    if os.environ.get("HARNESS_TRIGGER"):
        return os.environ["HARNESS_TRIGGER"]
    return "ci" if os.environ.get("CI") else "pytest"
