"""The local platform: the reference system as processes on 127.0.0.1, every link through a fault proxy.

Topology (every arrow is a ``Link`` in an edge process, so it can be slowed, cut or reset)::

    client -> lb ==lb->gateway-N==> gateway-N ==gateway-N->inference-{gpu,cpu}==> inference-*
                                              ==gateway-N->postgres / ->redis==> postgres, redis

Processes: ``edge`` (all gateway-N->* links + control API), ``lb`` (the balancer with its
lb->gateway-N links + control API), the refsys components, and PostgreSQL/Redis when asked.
Ports are picked free by the OS; nothing binds a fixed port. Everything started is in the undo
log and in ``<state_dir>/platform.json`` so ``harness status``/``harness down`` work from another
process and the next start can clean up after a killed run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from harness.errors import PlatformError, UsageError
from harness.faults import procs
from harness.faults.undo import UndoLog
from harness.platforms.base import Platform, Target
from harness.platforms.local.backing import create_database, postgres_spec, redis_spec
from harness.platforms.local.edge import BalancerSpec, EdgeReady, EdgeSpec, LinkSpec
from harness.platforms.local.faults import change_gpu_count, local_undo_kinds
from harness.platforms.local.links import LinkControl
from harness.platforms.local.refsys import (
    DEFAULT_COMMANDS,
    DEFAULT_GPUS,
    IDENTITIES,
    claims_from_env,
    cors_allowed_origins,
    validate_backend,
    validate_defects,
)
from harness.platforms.local.state import (
    EdgeInfo,
    PlatformState,
    default_state_dir,
    read_state,
    remove_state,
    write_state,
)
from harness.platforms.local.supervisor import ComponentSpec, Supervisor, free_ports, log_tail, python_module


class LocalPlatform(Platform):
    name = "local"
    fault_kinds = frozenset({"kill", "pause", "restart", "link", "dependency_outage", "cpu_pressure",
                             "memory_pressure", "gpu_loss"})

    def __init__(self, *, backend: str = "sqlite", redis: bool = False, defects: Iterable[str] = (),
                 replicas: int = 2, state_dir: Path | None = None, log_dir: Path | None = None,
                 startup_timeout_s: float = 20.0, env: Mapping[str, str] | None = None,
                 commands: Mapping[str, list[str]] | None = None) -> None:
        """``env`` is added to every refsys component's environment (e.g. ``REFSYS_BREAKER_RESET_S``);
        ``commands`` replaces the argv per role (``inference``, ``gateway``) - tests run stand-ins."""
        if replicas < 1:
            raise UsageError(f"--replicas must be at least 1 (got {replicas})")
        self.backend = validate_backend(backend)
        self.redis = redis
        self.defects = validate_defects(defects)
        self.replicas = replicas
        self.state_dir = Path(state_dir).absolute() if state_dir else default_state_dir()
        self.log_dir = Path(log_dir).absolute() if log_dir else self.state_dir / "logs"
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = dict(env or {})
        self.commands = {**DEFAULT_COMMANDS, **(commands or {})}
        self.undo = UndoLog(self.state_dir, local_undo_kinds())
        self.supervisor = Supervisor(self.log_dir, self.undo)
        self._state: PlatformState | None = None
        self._edges: dict[str, EdgeInfo] = {}
        self._link_owner: dict[str, str] = {}  # link name -> edge control url
        self._active_link_faults: dict[str, str] = {}
        self._data_dirs: list[Path] = []
        self._gateway_names = [f"gateway-{i}" for i in range(1, replicas + 1)]
        self._target: Target | None = None
        self.cleaned_up: list[str] = []  # what undo_pending rolled back at start

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Target:
        self._refuse_if_running()
        self.cleaned_up = self.undo.undo_pending()
        started = time.monotonic()
        try:
            return self._start(started)
        except BaseException:
            self.stop()
            raise

    def _refuse_if_running(self) -> None:
        existing = read_state(self.state_dir)
        if existing is None:
            return
        alive = [n for n, c in existing.components.items() if procs.same_process(c.pid, c.create_time)]
        if not alive:
            return
        if existing.detached:
            raise PlatformError(f"a system started by `harness up` is running from {self.state_dir} "
                                f"({', '.join(alive)}); run `harness down` first, or use another state_dir")
        if procs.same_process(existing.owner_pid, existing.owner_create_time):
            raise PlatformError(f"another local platform (owner pid {existing.owner_pid}) is running from "
                                f"{self.state_dir}; stop it or give this one its own state_dir")
        # the owner died: what it left is in the undo log and is cleaned up by undo_pending

    def _start(self, started: float) -> Target:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix="harness-data-"))
        self._data_dirs.append(data_dir)
        me = os.getpid()
        self._state = PlatformState(owner_pid=me, owner_create_time=procs.start_time(me) or time.time(),
                                    backend=self.backend, redis=self.redis, defects=self.defects,
                                    replicas=self.replicas, log_dir=str(self.log_dir),
                                    data_dirs=[str(data_dir)])
        # every port is picked up front in one batch (distinct from each other): links included, so
        # no edge binds port 0 and grabs a port just picked for a component
        backing = [n for n, wanted in (("postgres", self.backend == "postgres"), ("redis", self.redis)) if wanted]
        names = ["inference-gpu", "inference-cpu", "lb", "edge-control", "lb-control", *self._gateway_names, *backing]
        link_names = [f"{gw}->{dep}" for gw in self._gateway_names for dep in ("inference-gpu", "inference-cpu", *backing)]
        lb_link_names = [f"lb->{gw}" for gw in self._gateway_names]
        picked = free_ports(len(names) + len(link_names) + len(lb_link_names))
        ports = dict(zip([*names, *link_names, *lb_link_names], picked, strict=True))
        deadline = started + self.startup_timeout_s

        # 1. backing services and inference (no dependencies), and both edge processes
        if self.backend == "postgres":
            self._start_postgres(ports["postgres"])
        if self.redis:
            self._start_redis(ports["redis"], data_dir)
        for tier in ("gpu", "cpu"):
            self._spawn(ComponentSpec(name=f"inference-{tier}", argv=self.commands["inference"],
                                      port=ports[f"inference-{tier}"],
                                      env=self._refsys_env(PORT=str(ports[f"inference-{tier}"]), INFERENCE_TIER=tier,
                                                           EMULATED_GPUS=str(DEFAULT_GPUS) if tier == "gpu" else "0")))
        links = [LinkSpec(name=name, upstream_port=ports[name.split("->")[1]], listen_port=ports[name])
                 for name in link_names]
        self._start_edge("edge", EdgeSpec(links=links, control_port=ports["edge-control"],
                                          ready_file=self.state_dir / "edge.ready.json"))
        lb_links = [LinkSpec(name=name, upstream_port=ports[name.split("->")[1]], listen_port=ports[name])
                    for name in lb_link_names]
        self._start_edge("lb", EdgeSpec(links=lb_links, control_port=ports["lb-control"],
                                        balancer=BalancerSpec(backends=[link.name for link in lb_links],
                                                              listen_port=ports["lb"]),
                                        ready_file=self.state_dir / "lb.ready.json"))
        self._wait(["edge", "lb", *backing], deadline)
        self._read_edge_ready("edge", deadline)
        self._read_edge_ready("lb", deadline)
        if self.backend == "postgres":
            self._create_database(ports["postgres"])

        # 2. gateways, through the links
        lb_url = f"http://127.0.0.1:{ports['lb']}"
        edge_links = self._edges["edge"].links

        def db_url(gateway: str) -> str:
            if self.backend == "postgres":
                return f"postgresql://refsys@127.0.0.1:{edge_links[f'{gateway}->postgres']}/refsys"
            return f"sqlite:///{data_dir / 'refsys.db'}"

        for gw in self._gateway_names:
            env = self._refsys_env(
                PORT=str(ports[gw]), REFSYS_INSTANCE=gw, REFSYS_DB_URL=db_url(gw),
                REFSYS_INFERENCE_GPU_URL=f"http://127.0.0.1:{edge_links[f'{gw}->inference-gpu']}",
                REFSYS_INFERENCE_CPU_URL=f"http://127.0.0.1:{edge_links[f'{gw}->inference-cpu']}",
                REFSYS_JWT_SECRET=self._jwt_secret(), REFSYS_PUBLIC_URL=lb_url)
            if self.redis:
                env["REFSYS_REDIS_URL"] = f"redis://127.0.0.1:{edge_links[f'{gw}->redis']}/0"
            self._spawn(ComponentSpec(name=gw, argv=self.commands["gateway"], port=ports[gw], env=env))
        self._wait(["inference-gpu", "inference-cpu", *self._gateway_names], deadline)
        self._wait_lb_ready(lb_url, deadline)

        self._target = Target(
            base_url=lb_url, openapi_url=f"{lb_url}/openapi.json", metrics_url=f"{lb_url}/metrics",
            identities=dict(IDENTITIES),
            extra={"platform": "local", "backend": self.backend, "redis": self.redis, "defects": self.defects,
                   "components": {n: f"http://127.0.0.1:{s.port}" for n, s in self.supervisor.states.items()
                                  if n not in ("postgres", "redis")},
                   "startup_s": round(time.monotonic() - started, 2), "state_dir": str(self.state_dir),
                   "log_dir": str(self.log_dir), "cors_allowed_origins": cors_allowed_origins(lb_url),
                   "metrics_urls": [f"http://127.0.0.1:{self.supervisor.states[g].port}/metrics"
                                    for g in self._gateway_names],  # one per replica: the balancer picks one
                   **claims_from_env(self.extra_env)})
        self._save_state()
        return self._target

    def _jwt_secret(self) -> str:
        if not hasattr(self, "_secret"):
            self._secret = secrets.token_urlsafe(32)  # shared by every replica of this run
        return self._secret

    def _refsys_env(self, **values: str) -> dict[str, str]:
        return {"REFSYS_DEFECTS": ",".join(self.defects), **self.extra_env, **values}

    def _spawn(self, spec: ComponentSpec) -> None:
        self.supervisor.start(spec)
        self._save_state()

    def _wait(self, names: list[str], deadline: float) -> None:
        self.supervisor.wait_ready(names, max(0.5, deadline - time.monotonic()))

    def _start_edge(self, name: str, spec: EdgeSpec) -> None:
        spec.ready_file.unlink(missing_ok=True)
        spec_path = self.state_dir / f"{name}.spec.json"
        spec_path.write_text(spec.model_dump_json(indent=2))
        self._spawn(ComponentSpec(name=name, argv=[*python_module("harness.platforms.local.edge"), str(spec_path)],
                                  port=spec.control_port, ready_path="/healthz"))

    def _read_edge_ready(self, name: str, deadline: float) -> None:
        spec_path = self.state_dir / f"{name}.spec.json"
        spec = EdgeSpec.model_validate_json(spec_path.read_text())
        while not spec.ready_file.exists():  # written right after the control API answers
            if time.monotonic() > deadline:
                raise PlatformError(f"{name} did not report its ports; last lines of its log:\n"
                                    f"{log_tail(self.log_dir / f'{name}.log')}")
            time.sleep(0.05)
        ready = EdgeReady.model_validate_json(spec.ready_file.read_text())
        # pin the ports the edge picked, so a restart of the edge binds the very same ones
        for link in spec.links:
            link.listen_port = ready.links[link.name]
        spec_path.write_text(spec.model_dump_json(indent=2))
        control_url = f"http://127.0.0.1:{ready.control_port}"
        self._edges[name] = EdgeInfo(control_url=control_url, links=ready.links)
        for link_name in ready.links:
            self._link_owner[link_name] = control_url

    def _wait_lb_ready(self, lb_url: str, deadline: float) -> None:
        """Ready when the LB has marked every replica healthy and a request through it succeeds."""
        control = self._edges["lb"].control_url
        last = ""
        while time.monotonic() < deadline:
            try:
                backends = httpx.get(f"{control}/lb", timeout=1.0, trust_env=False, verify=False).json()["backends"]
                if (all(b["healthy"] for b in backends.values())
                        and httpx.get(f"{lb_url}/healthz", timeout=1.0, trust_env=False, verify=False).status_code == 200):
                    return
                last = f"backends: {backends}"
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise PlatformError(f"load balancer not ready before the startup timeout ({last}); "
                            f"last lines of the lb log:\n{log_tail(self.log_dir / 'lb.log')}")

    # -- PostgreSQL and Redis (harness.platforms.local.backing) -------------------------------
    def _start_postgres(self, port: int) -> None:
        root = Path(tempfile.mkdtemp(prefix="harness-pg-"))  # under /tmp: reachable by the postgres user
        self._data_dirs.append(root)
        assert self._state is not None
        self._state.data_dirs.append(str(root))
        self._spawn(postgres_spec(port, root))

    def _create_database(self, port: int) -> None:
        create_database(port)

    def _start_redis(self, port: int, data_dir: Path) -> None:
        self._spawn(redis_spec(port, data_dir))

    # -- stop --------------------------------------------------------------------------------
    def stop(self) -> None:
        order = ["lb", *reversed(self._gateway_names), "inference-cpu", "inference-gpu", "edge", "redis", "postgres"]
        names = [n for n in order if n in self.supervisor.states] + \
                [n for n in self.supervisor.states if n not in order]
        errors = []
        for name in names:
            try:
                self.supervisor.stop(name)
            except Exception as exc:  # keep stopping the rest
                errors.append(f"{name}: {exc}")
        for undo_id in self._active_link_faults.values():
            self.undo.done(undo_id)  # the edges are gone, their faults with them
        self._active_link_faults.clear()
        self.undo.undo_pending()
        for path in self._data_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self._data_dirs.clear()
        for leftover in ("edge.ready.json", "lb.ready.json"):
            (self.state_dir / leftover).unlink(missing_ok=True)
        remove_state(self.state_dir)
        self._state = None
        if errors:
            raise PlatformError("stopping the local platform failed for " + "; ".join(errors))

    def detach(self) -> None:
        """Leave the system running after this process exits (`harness up`); `harness down` stops it."""
        if self._state is None:
            raise PlatformError("not started")
        self._state.detached = True
        self._save_state()

    def _save_state(self) -> None:
        if self._state is None:
            return
        self._state.components = {n: s.model_copy() for n, s in self.supervisor.states.items()}
        self._state.edges = dict(self._edges)
        self._state.target = self._target
        write_state(self.state_dir, self._state)

    # -- inspection --------------------------------------------------------------------------
    def components(self) -> list[str]:
        """Components a fault can target (the internal ``edge`` process is not one of them)."""
        return [n for n in self.supervisor.states if n != "edge"]

    def _component(self, component: str) -> str:
        if component not in self.supervisor.states or component == "edge":
            raise PlatformError(f"unknown component {component!r}; known: {', '.join(self.components())}")
        return component

    def pid(self, component: str) -> int:
        return self.supervisor.states[self._component(component)].pid

    def status(self) -> dict[str, Any]:
        return {name: self.supervisor.status(name) for name in self.supervisor.states}

    def environment(self) -> dict[str, Any]:
        return {"platform": self.name, "backend": self.backend, "redis": self.redis, "defects": self.defects,
                "replicas": self.replicas}

    def links(self) -> list[str]:
        return sorted(self._link_owner)

    def link(self, name: str) -> LinkControl:
        if name not in self._link_owner:
            raise PlatformError(f"unknown link {name!r}; known: {', '.join(self.links())}")
        return LinkControl(name, self._link_owner[name], self.undo, self._active_link_faults)

    # every control call here is plain HTTP on loopback: verify=False only skips loading the CA bundle, which
    # costs ~0.15 s of CPU per one-shot httpx call on a busy 2-core machine (pollers make several a second)
    def lb_backends(self) -> dict[str, Any]:
        """The balancer's view of the replicas (healthy flags, pinned sessions)."""
        return httpx.get(f"{self._edges['lb'].control_url}/lb", timeout=2.0, trust_env=False, verify=False).json()["backends"]

    # -- faults ------------------------------------------------------------------------------
    def kill(self, component: str) -> None:
        self.supervisor.kill(self._component(component))
        self._after_process_fault(component)

    def pause(self, component: str) -> None:
        self.supervisor.pause(self._component(component))

    def resume(self, component: str) -> None:
        self.supervisor.resume(self._component(component))

    def restart(self, component: str) -> None:
        """Stop gracefully (if running) and start with the same port and env; returns once ready."""
        self._component(component)
        self.supervisor.stop(component)
        self._after_process_fault(component)
        self.supervisor.start(self.supervisor.specs[component])
        self.supervisor.wait_ready([component], self.startup_timeout_s)
        self._save_state()

    def _after_process_fault(self, component: str) -> None:
        if component == "lb":  # its links died with it, and their faults
            for link_name in [n for n in self._active_link_faults if n.startswith("lb->")]:
                self.undo.done(self._active_link_faults.pop(link_name))
        self._save_state()

    def limit(self, component: str, *, cpu_percent: float | None = None, memory_mb: int | None = None) -> None:
        """Cap CPU (100 = one core) and/or memory through a cgroup; NotImplementedError when cgroups are unusable."""
        self.supervisor.limit(self._component(component), cpu_percent=cpu_percent, memory_mb=memory_mb)
        self._save_state()

    def unlimit(self, component: str) -> None:
        self.supervisor.unlimit(self._component(component))
        self._save_state()

    def set_gpu_count(self, n: int) -> None:
        """Change the GPUs inference-gpu sees (0 = GPU loss), via its loopback admin endpoint (undo-logged)."""
        state = self.supervisor.states[self._component("inference-gpu")]
        self._gpu_undo_id = change_gpu_count(self.undo, port=state.port, pid=state.pid, create_time=state.create_time,
                                             count=n, default=DEFAULT_GPUS, undo_id=getattr(self, "_gpu_undo_id", None))
        self._gpus_changed = n != DEFAULT_GPUS

    def clear_all_faults(self) -> None:
        """Back to a healthy system: clear every link, resume paused, remove limits, restore GPUs,
        and restart any component that is not running (killed)."""
        for name in list(self.supervisor.states):
            state = self.supervisor.states[name]
            if state.paused_undo_id:
                self.supervisor.resume(name)
            if state.limit is not None:
                self.supervisor.unlimit(name)
        for name in list(self.supervisor.states):
            if not self.supervisor.alive(name):
                self.supervisor.start(self.supervisor.specs[name])
                self.supervisor.wait_ready([name], self.startup_timeout_s)
        for info in self._edges.values():
            httpx.post(f"{info.control_url}/faults/clear", timeout=5.0, trust_env=False, verify=False).raise_for_status()
        for undo_id in self._active_link_faults.values():
            self.undo.done(undo_id)
        self._active_link_faults.clear()
        if getattr(self, "_gpus_changed", False):
            self.set_gpu_count(DEFAULT_GPUS)
        self._save_state()
