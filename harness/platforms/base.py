"""What suites talk to (``Target``) and what starts and hurts the system (``Platform``).

A platform either starts the system (local, kind) or attaches to one someone else runs
(external). Fault capabilities are optional: a platform that cannot pause a component
raises ``NotImplementedError`` with a sentence saying so, and suites turn that into a
``not_applicable`` check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.login import LoginSpec

ADMIN_ROLES = {"admin", "administrator", "superuser", "root", "staff", "owner"}


class Identity(BaseModel):
    """A test identity the target provides: suites log in as these, never invent users.

    Either a username and password (logged in through the target's ``LoginSpec``) or a static
    credential: ``token`` (sent as a bearer token), ``api_key`` (+ ``header``, default X-API-Key) or
    ``cookie`` (``name=value``). ``tenant`` is optional: without one, every identity is its own scope
    (users must not see each other's objects). ``role`` defaults to ``user``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str  # e.g. "tenant_a_user"
    username: str | None = None
    password: str | None = None
    tenant: str | None = None
    role: str = "user"  # "user" | "admin" (or the target's own role names)
    email: str | None = Field(None, description="the identity's own e-mail when the username is not one")
    token: str | None = None
    api_key: str | None = None
    header: str | None = Field(None, description="header name for api_key (default X-API-Key)")
    cookie: str | None = Field(None, pattern=r"^[^=;\s]+=", description="a session cookie as name=value")

    @model_validator(mode="after")
    def _has_a_credential(self) -> Identity:
        static = [k for k in ("token", "api_key", "cookie") if getattr(self, k)]
        if len(static) > 1:
            raise ValueError(f"give one static credential, not {' and '.join(static)}")
        if not static and not (self.username and self.password is not None):
            raise ValueError("needs username and password, or a static credential (token, api_key or cookie)")
        if self.header and not self.api_key:
            raise ValueError("header names the api_key's header; it needs api_key")
        return self

    @property
    def logs_in(self) -> bool:
        """Logs in with username/password (so a fuzzer could lose it by changing them)."""
        return not (self.token or self.api_key or self.cookie)

    @property
    def scope(self) -> str:
        """Who shares objects with whom: the tenant, or the identity alone when no tenant is given."""
        return f"tenant:{self.tenant}" if self.tenant is not None else f"identity:{self.name}"

    @property
    def is_admin(self) -> bool:
        return self.role.lower() in ADMIN_ROLES

    def own_emails(self) -> set[str]:
        """E-mail addresses that are this identity's own (declared; learned ones are added by probes)."""
        found = {e.lower() for e in (self.email, self.username) if e and "@" in e}
        return found


class Target(BaseModel):
    """Everything a suite needs to talk to the system under test."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    openapi_url: str | None = None
    metrics_url: str | None = None
    identities: dict[str, Identity] = Field(default_factory=dict)
    login: LoginSpec = Field(default_factory=LoginSpec)
    extra: dict[str, Any] = Field(default_factory=dict)  # hints: see harness/targetfile.py (Hints)

    @property
    def login_path(self) -> str:
        return self.login.path

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
