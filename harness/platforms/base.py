"""What suites talk to (``Target``) and what starts and hurts the system (``Platform``).

A platform either starts the system (local, kind) or attaches to one someone else runs
(external). Fault capabilities are optional: a platform that cannot pause a component
raises ``NotImplementedError`` with a sentence saying so, and suites turn that into a
``not_applicable`` check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Identity(BaseModel):
    """A test identity the target provides: suites log in as these, never invent users."""

    model_config = ConfigDict(extra="forbid")

    name: str  # e.g. "tenant_a_user"
    username: str
    password: str
    tenant: str
    role: str  # "user" | "admin" (or the target's own role names)


class Target(BaseModel):
    """Everything a suite needs to talk to the system under test."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    openapi_url: str | None = None
    metrics_url: str | None = None
    identities: dict[str, Identity] = Field(default_factory=dict)
    login_path: str = "/auth/login"
    extra: dict[str, Any] = Field(default_factory=dict)

    def identity(self, tenant: str, role: str) -> Identity:
        for candidate in self.identities.values():
            if candidate.tenant == tenant and candidate.role == role:
                return candidate
        raise LookupError(f"target has no identity with tenant={tenant!r} role={role!r}")


class Platform(ABC):
    """Starts (or attaches to) a system; optionally knows how to hurt it."""

    name: str = "abstract"
    # chaos fault kinds (harness.chaos.faults) this platform can apply; an experiment injecting another
    # kind is not applicable here
    fault_kinds: frozenset[str] = frozenset()

    @abstractmethod
    def start(self) -> Target:
        """Bring the system up (or attach) and return how to reach it."""

    @abstractmethod
    def stop(self) -> None:
        """Stop everything this platform started; must leave no process or port behind."""

    def status(self) -> dict[str, Any]:
        return {}

    def environment(self) -> dict[str, Any]:
        """Facts for the report's environment block (versions, backend, defects)."""
        return {"platform": self.name}

    # -- fault capabilities (chaos); local and kind implement these ----------------
    def kill(self, component: str) -> None:
        raise NotImplementedError(f"platform {self.name!r} cannot kill components")

    def pause(self, component: str) -> None:
        raise NotImplementedError(f"platform {self.name!r} cannot pause components")

    def resume(self, component: str) -> None:
        raise NotImplementedError(f"platform {self.name!r} cannot resume components")

    def restart(self, component: str) -> None:
        raise NotImplementedError(f"platform {self.name!r} cannot restart components")

    def __enter__(self) -> Target:
        try:
            return self.start()
        except BaseException:
            self.stop()  # a failed start cleans up after itself
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
