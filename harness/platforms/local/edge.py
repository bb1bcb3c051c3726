"""The edge process: fault-proxy links (+ optionally the load balancer) and a control API.

``python -m harness.platforms.local.edge <spec.json>`` where the spec is an ``EdgeSpec``. Every
listener binds the port given in the spec (0 = pick a free one); once all are listening the
process writes an ``EdgeReady`` JSON file (atomically) naming the real ports, which is how the
platform learns them. The control API (FastAPI on 127.0.0.1) is:

* ``GET  /healthz``                       liveness
* ``GET  /links``                         every link: ports, upstream, faults, counters
* ``PUT  /links/{name}/faults``           replace that link's faults (body: ``LinkFaults``)
* ``DELETE /links/{name}/faults``         clear that link
* ``POST /faults/clear``                  clear every link
* ``GET  /lb``                            balancer backends and their health (404 without one)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from harness.platforms.local.balancer import Backend, RoundRobinBalancer
from harness.platforms.local.proxy import Link, LinkFaults


class LinkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    upstream_port: int
    upstream_host: str = "127.0.0.1"
    listen_port: int = 0


class BalancerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backends: list[str] = Field(description="names of links (in this spec) to balance over")
    listen_port: int = 0
    health_path: str = "/healthz"
    interval_s: float = 0.5
    timeout_s: float = 0.4


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    links: list[LinkSpec] = Field(default_factory=list)
    balancer: BalancerSpec | None = None
    control_port: int = 0
    ready_file: Path
    seed: int | None = None


class EdgeReady(BaseModel):
    pid: int
    control_port: int
    links: dict[str, int]  # link name -> listen port
    balancer_port: int | None = None


def build_api(links: dict[str, Link], balancer: RoundRobinBalancer | None) -> FastAPI:
    api = FastAPI(title="harness edge control", docs_url=None, redoc_url=None)

    def find(name: str) -> Link:
        if name not in links:
            raise HTTPException(404, f"no link {name!r}; known: {', '.join(sorted(links))}")
        return links[name]

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/links")
    async def list_links() -> dict[str, Any]:
        return {name: link.describe() for name, link in links.items()}

    @api.put("/links/{name}/faults")
    async def set_faults(name: str, faults: LinkFaults) -> dict[str, Any]:
        link = find(name)
        await link.set_faults(faults)
        return link.describe()

    @api.delete("/links/{name}/faults")
    async def clear_faults(name: str) -> dict[str, Any]:
        link = find(name)
        await link.clear()
        return link.describe()

    @api.post("/faults/clear")
    async def clear_all() -> dict[str, Any]:
        for link in links.values():
            await link.clear()
        return {name: link.describe() for name, link in links.items()}

    @api.get("/lb")
    async def lb() -> dict[str, Any]:
        if balancer is None:
            raise HTTPException(404, "this edge process runs no load balancer")
        return balancer.describe()

    return api


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


async def serve(spec: EdgeSpec) -> None:
    links: dict[str, Link] = {}
    for item in spec.links:
        link = Link(item.name, item.upstream_host, item.upstream_port, listen_port=item.listen_port, seed=spec.seed)
        await link.start()
        links[item.name] = link
    balancer: RoundRobinBalancer | None = None
    if spec.balancer is not None:
        backends = [Backend(name=name, link=links[name]) for name in spec.balancer.backends]
        balancer = RoundRobinBalancer(backends, health_path=spec.balancer.health_path,
                                      interval_s=spec.balancer.interval_s, timeout_s=spec.balancer.timeout_s)
        await balancer.start(port=spec.balancer.listen_port)
    control_sock = _bind(spec.control_port)
    config = uvicorn.Config(build_api(links, balancer), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve(sockets=[control_sock]))
    while not server.started:
        if server_task.done():
            server_task.result()  # surfaces the startup error
        await asyncio.sleep(0.02)
    ready = EdgeReady(pid=os.getpid(), control_port=control_sock.getsockname()[1],
                      links={name: link.listen_port for name, link in links.items()},
                      balancer_port=balancer.listen_port if balancer else None)
    tmp = spec.ready_file.with_suffix(".tmp")
    tmp.write_text(ready.model_dump_json())
    os.replace(tmp, spec.ready_file)
    print(f"edge ready: {ready.model_dump_json()}", flush=True)
    try:
        await server_task  # uvicorn handles SIGTERM/SIGINT and returns
    finally:
        if balancer is not None:
            await balancer.close()
        for link in links.values():
            await link.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m harness.platforms.local.edge <spec.json>", file=sys.stderr)
        return 2
    spec = EdgeSpec.model_validate(json.loads(Path(args[0]).read_text()))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # survive the terminal that ran `harness up`
    asyncio.run(serve(spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
