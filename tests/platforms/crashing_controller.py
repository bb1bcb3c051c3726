"""A controlling process that starts the local platform, applies faults, reports, then waits to be SIGKILLed.

Used by test_undo.py: ``python crashing_controller.py <state_dir> <report.json>``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness.faults import cgroups
from harness.platforms.local.platform import LocalPlatform

TINY = [sys.executable, str(Path(__file__).with_name("tiny_app.py"))]

state_dir, report = Path(sys.argv[1]), Path(sys.argv[2])
platform = LocalPlatform(state_dir=state_dir, commands={"inference": TINY, "gateway": TINY})
target = platform.start()
platform.link("gateway-1->inference-gpu").latency(200)
platform.link("lb->gateway-2").blackhole()
platform.pause("gateway-1")
limit_dirs: list[str] = []
if cgroups.availability() is None:
    platform.limit("inference-cpu", cpu_percent=50)
    limit_dirs = platform.supervisor.states["inference-cpu"].limit["dirs"]  # type: ignore[index]
edge_ports = [port for edge in platform._edges.values() for port in edge.links.values()]
report.write_text(json.dumps({
    "pids": {name: state.pid for name, state in platform.supervisor.states.items()},
    "ports": [state.port for state in platform.supervisor.states.values()] + edge_ports
             + [int(target.base_url.rsplit(":", 1)[1])],
    "link_port": platform._edges["edge"].links["gateway-1->inference-gpu"],
    "cgroup_dirs": limit_dirs,
}))
time.sleep(120)  # the test SIGKILLs us here, with every fault still applied
