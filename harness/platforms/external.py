"""A system someone else runs: the harness attaches to its URLs and identities.

``--target FILE`` (a target file, ``harness.targetfile``) or ``--target-url URL`` (optionally
``--openapi-url`` and ``--identities FILE``) selects it; flags given with a target file override its keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from harness.config import HarnessConfig
from harness.errors import UsageError
from harness.faults.host import host_undo_kinds
from harness.faults.undo import UndoLog
from harness.inputs import validate
from harness.platforms.base import Identity, Platform, Target
from harness.platforms.external_faults import ExternalFaults, external_undo_kinds
from harness.targetfile import load_target


class ExternalPlatform(Platform):
    """URLs and identities; starting attaches, stopping leaves the system as it was.

    When the target file names ``chaos.components`` (containers, PIDs, command lines) it can also hurt them
    (``external_faults.ExternalFaults``): every fault in the undo log first, everything undone at stop, and
    whatever a killed run left behind undone at the next start.
    """

    name = "external"
    # what it can apply to the containers and processes a target file's chaos.components name (narrowed per
    # instance: nothing without components, network_disconnect only for a container with a network)
    fault_kinds = frozenset({"kill", "pause", "restart", "network_disconnect"})

    def __init__(self, target: Target, state_dir: Path | None = None) -> None:
        self._target = target
        self.state_dir = (state_dir or Path(os.environ.get("HARNESS_STATE_DIR") or ".harness")).absolute()
        self.faults: ExternalFaults | None = None
        self.fault_kinds = frozenset()
        components = target.extra.get("chaos_components") or {}
        if components:
            # one undo log per state dir: the host's kinds too (the chaos load workers are recorded in it)
            kinds = host_undo_kinds().merged(external_undo_kinds())
            self.faults = ExternalFaults(components, UndoLog(self.state_dir, kinds))
            # the chaos kinds it can apply (harness.chaos.faults): disconnect only where a container names a network
            self.fault_kinds = frozenset({"kill", "pause", "restart"} | (
                {"network_disconnect"} if any(c.get("container") and c.get("network") for c in components.values())
                else set()))
        self.cleaned_up: list[str] = []

    def start(self) -> Target:
        if self.faults is not None:
            self.cleaned_up = self.faults.undo.undo_pending()
        return self._target

    def stop(self) -> None:
        if self.faults is not None:
            self.faults.clear_all()

    def environment(self) -> dict[str, object]:
        facts: dict[str, object] = {"platform": self.name}
        if self.faults is not None:
            facts["chaos_components"] = ", ".join(f"{n} ({'/'.join(f'{k}={v}' for k, v in c.items())})"
                                                  for n, c in self.faults.components.items())
        return facts

    # -- faults (chaos), only with chaos.components in the target file ----------------------
    def _faults(self) -> ExternalFaults:
        if self.faults is None:
            raise NotImplementedError("the target file names no chaos components (chaos.components: a container, "
                                      "a pid or a command line per component)")
        return self.faults

    def components(self) -> list[str]:
        return list(self.faults.components) if self.faults is not None else []

    def kill(self, component: str) -> None:
        self._faults().kill(component)

    def pause(self, component: str) -> None:
        self._faults().pause(component)

    def resume(self, component: str) -> None:
        self._faults().resume(component)

    def restart(self, component: str) -> None:
        self._faults().restart(component)

    def restore(self, component: str) -> None:
        self._faults().restore(component)

    def disconnect(self, component: str) -> None:
        self._faults().disconnect(component)

    def reconnect(self, component: str) -> None:
        self._faults().reconnect(component)

    def alive(self, component: str) -> bool:
        return self._faults().alive(component)

    def clear_all_faults(self) -> list[str]:
        return self.faults.clear_all() if self.faults is not None else []


def load_identities(path: Path) -> dict[str, Identity]:
    """Read test identities for an external target: a YAML/JSON mapping name → fields.

    Example::

        acme_user: {username: alice@example.test, password: "...", tenant: acme, role: user}
    """
    if not path.is_file():
        raise UsageError(f"identities file {path} not found")
    try:
        data = (json.loads if path.suffix == ".json" else yaml.safe_load)(path.read_text()) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot parse identities ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: identities are a mapping of name -> {{username, password, tenant, role}}")
    out = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise UsageError(f"{path}: {name}: expected a mapping like {{username: ..., password: ...}}")
        out[name] = validate(Identity, {"name": name, **fields}, str(path), prefix=f"{name}.")
    return out


def target_from_config(config: HarnessConfig) -> Target:
    """The external target: the target file (if any), then --target-url / --openapi-url / --identities on top."""
    if config.target is not None:
        target, _ = load_target(config.target)
    elif config.target_url:
        base = config.target_url.rstrip("/")
        target = Target(base_url=base, openapi_url=f"{base}/openapi.json", metrics_url=f"{base}/metrics")
    else:
        raise UsageError("platform external needs --target FILE or --target-url URL (the running system)")
    updates: dict = {}
    if config.target_url:
        base = config.target_url.rstrip("/")
        updates["base_url"] = base
        if config.target is None or target.openapi_url == f"{target.base_url}/openapi.json":
            updates["openapi_url"] = f"{base}/openapi.json"
    if config.openapi_url:
        updates["openapi_url"] = config.openapi_url
    if config.identities_file:
        updates["identities"] = load_identities(config.identities_file)
    return target.model_copy(update=updates) if updates else target


def external_platform(config: HarnessConfig) -> ExternalPlatform:
    """The external platform for ``--target`` / ``--target-url`` (``UsageError`` without either)."""
    return ExternalPlatform(target_from_config(config))
