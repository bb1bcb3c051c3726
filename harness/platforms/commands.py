"""``harness up`` / ``status`` / ``down``: run the reference system on this machine between commands.

``up`` starts the local platform, prints where everything is, and returns leaving it running
(detached); ``status`` and ``down`` find it again through the state directory
(``--state-dir``, ``$HARNESS_STATE_DIR`` or ``./.harness``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import UsageError
from harness.platforms.base import Target

console = Console()

StateDirOption = Annotated[Path | None, typer.Option("--state-dir", help="where the platform's state lives "
                                                        "(default $HARNESS_STATE_DIR or ./.harness)")]


def _state_dir(value: Path | None) -> Path:
    from harness.platforms.local.state import default_state_dir

    return value.absolute() if value else default_state_dir()


def up(
    platform: Annotated[str, typer.Option(help="local (processes on 127.0.0.1) or kind (a kind cluster with GPU-emulated nodes)")] = "local",
    backend: Annotated[str, typer.Option(help="sqlite or postgres")] = "sqlite",
    redis: Annotated[bool, typer.Option("--redis/--no-redis", help="start Redis for rate limits and cache")] = False,
    defects: Annotated[str, typer.Option(help="comma-separated defect switches, e.g. bola,weak_csp")] = "",
    replicas: Annotated[int, typer.Option(help="gateway replicas behind the load balancer")] = 2,
    state_dir: StateDirOption = None,
    log_dir: Annotated[Path | None, typer.Option(help="component logs (default <state-dir>/logs)")] = None,
    startup_timeout: Annotated[float, typer.Option(help="seconds to wait for readiness")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the target as JSON instead of tables")] = False,
    name: Annotated[str, typer.Option("--name", help="kind: cluster name (created, or reused when it exists)")] = "harness",
    keep_cluster: Annotated[bool, typer.Option("--keep-cluster", help="kind: `harness down` removes the reference "
                                               "system but leaves the cluster for the next up")] = False,
) -> None:
    """Start the reference system and leave it running (stop it with `harness down`)."""
    names = [d.strip() for d in defects.split(",") if d.strip()]
    if platform == "kind":
        from harness.platforms.kind import commands as kind_commands

        kind_commands.up(state_dir=_state_dir(state_dir), defects=names, cluster_name=name, keep_cluster=keep_cluster,
                         timeout_s=max(startup_timeout, 300.0), as_json=as_json, console=console)
        return
    from harness.platforms.local.platform import LocalPlatform

    if platform != "local":
        raise UsageError(f"--platform {platform!r}: `harness up` starts local or kind; "
                         "for an external system pass --target-url to `harness run`")
    local = LocalPlatform(backend=backend, redis=redis, defects=names, replicas=replicas,
                          state_dir=_state_dir(state_dir), log_dir=log_dir, startup_timeout_s=startup_timeout)
    target = local.start()
    local.detach()
    if as_json:
        print(json.dumps({"target": target.model_dump(), "links": local.links(), "status": local.status()}, indent=2))
        return
    components = Table(title=f"local platform up in {target.extra['startup_s']} s "
                             f"(backend {backend}{', redis' if redis else ''}{', defects ' + ','.join(names) if names else ''})")
    for column in ("component", "pid", "port", "url / log"):
        components.add_column(column)
    for name, info in local.status().items():
        url = target.extra["components"].get(name, "")
        components.add_row(name, str(info["pid"]), str(info["port"]), f"{url}  {info['log']}")
    console.print(components)
    print_target(console, target)
    console.print(f"links (faults via the chaos API): {', '.join(local.links())}")
    console.print(f"stop with: [bold]harness down[/]{' --state-dir ' + str(state_dir) if state_dir else ''}")


def print_target(out: Console, target: Target) -> None:
    """URLs and test identities of a started system (local and kind alike)."""
    out.print(f"[bold]base URL[/]  {target.base_url}\n[bold]OpenAPI[/]   {target.openapi_url}\n"
              f"[bold]metrics[/]   {target.metrics_url}")
    identities = Table(title="test identities (POST /auth/login)")
    for column in ("name", "username", "password", "tenant", "role"):
        identities.add_column(column)
    for ident in target.identities.values():
        identities.add_row(ident.name, ident.username, ident.password, ident.tenant, ident.role)
    out.print(identities)


def status(
    state_dir: StateDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show each component of the running local platform: pid, port, alive, paused, ready."""
    from harness.platforms.local.control import platform_status

    kind_info = _kind_status(_state_dir(state_dir))
    if kind_info is not None:
        if as_json:
            print(json.dumps(kind_info, indent=2))
        else:
            _print_kind_status(kind_info)
        return
    info: dict[str, Any] | None = platform_status(_state_dir(state_dir))
    if as_json:
        print(json.dumps(info, indent=2))
        return
    if info is None:
        console.print(f"no local platform recorded in {_state_dir(state_dir)} (start one with `harness up`)")
        return
    table = Table(title=f"local platform ({info['owner']}), backend {info['backend']}")
    for column in ("component", "pid", "port", "alive", "paused", "ready"):
        table.add_column(column)
    for name, comp in info["components"].items():
        table.add_row(name, str(comp["pid"]), str(comp["port"]), _yes(comp["alive"]), _yes(comp["paused"], bad=True),
                      _yes(comp["ready"]))
    console.print(table)
    if info["target"]:
        console.print(f"base URL {info['target']['base_url']}")
    if info["pending_faults"]:
        console.print(f"[yellow]faults applied:[/] {'; '.join(info['pending_faults'])}")


def _kind_status(state: Path) -> dict[str, Any] | None:
    if not (state / "kind.json").exists():
        return None
    from harness.platforms.kind.commands import status as kind_status

    return kind_status(state)


def _print_kind_status(info: dict[str, Any]) -> None:
    nodes = Table(title=f"kind cluster {info['cluster']!r}")
    for column in ("node", "ready", "GPUs", "taints"):
        nodes.add_column(column)
    for node in info["nodes"]:
        nodes.add_row(node["name"], _yes(node["ready"]), str(node["gpus"]), ", ".join(node["taints"]))
    console.print(nodes)
    pods = Table(title="reference system (namespace refsys)")
    for column in ("pod", "node", "phase"):
        pods.add_column(column)
    for pod, data in sorted(info["pods"].items()):
        pods.add_row(pod, data["node"] or "", data["phase"])
    console.print(pods)
    console.print(f"base URL {info['base_url']}")
    if info["pending_changes"]:
        console.print(f"cluster-level changes to undo at `harness down`: {'; '.join(info['pending_changes'])}")


def _yes(value: bool, bad: bool = False) -> str:
    good = not value if bad else value
    return f"[{'green' if good else 'red'}]{'yes' if value else 'no'}[/]"


def down(
    state_dir: StateDirOption = None,
    keep_cluster: Annotated[bool | None, typer.Option("--keep-cluster/--delete-cluster",
                                                       help="kind: keep the cluster (default: as `up` was told)")] = None,
) -> None:
    """Stop everything `harness up` started (local processes; kind: the deployment, cluster, daemon) and undo faults."""
    from harness.platforms.kind.commands import down as kind_down
    from harness.platforms.local.control import platform_down

    done = kind_down(_state_dir(state_dir), keep_cluster=keep_cluster)
    done += platform_down(_state_dir(state_dir))
    if not done:
        console.print("nothing to stop")
    for line in done:
        console.print(line)


def register(app: typer.Typer) -> None:
    """Add ``up``, ``status`` and ``down`` to the harness CLI."""
    app.command("up")(up)
    app.command("status")(status)
    app.command("down")(down)
