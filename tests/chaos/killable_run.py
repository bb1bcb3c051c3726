"""Child process of the kill test: start a local platform, run an experiment that applies many faults.

``python -m tests.chaos.killable_run <state_dir> <out_dir>``; prints ``READY`` once the platform is up,
then ``INJECTED <fault> <target>`` as each injection is noted (just before the platform applies it).
The test SIGKILLs this process at a random moment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.chaos.runner import ChaosRunner
from harness.chaos.session import ChaosSession
from harness.platforms.local.platform import LocalPlatform

EXPERIMENT = Path(__file__).parent / "experiments" / "many_faults.yaml"


def main() -> None:
    state_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    platform = LocalPlatform(state_dir=state_dir, env={"REFSYS_RATE_LIMIT": "1000"}, startup_timeout_s=40)
    original = ChaosSession.injected

    def announce(self: ChaosSession, fault: str, target: str):  # type: ignore[no-untyped-def]
        injection = original(self, fault, target)
        print(f"INJECTED {fault} {target}", flush=True)
        return injection

    ChaosSession.injected = announce  # type: ignore[method-assign]
    with platform as target:
        print("READY", flush=True)
        ChaosRunner(platform, target, out_dir=out_dir).run(EXPERIMENT)


if __name__ == "__main__":
    main()
