"""Replay a Finding's curl reproduction against the live target, exactly as a human would.

The curl text is run by ``bash`` (schemathesis quotes bytes with ``$'...'``), with a shell function
that makes each ``curl`` print only its HTTP status, so a multi-step (stateful) reproduction
yields one status per step. ``$HARNESS_TOKEN`` is filled by logging in through the target.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import httpx

from harness.platforms.base import Identity, Target
from harness.safety import ensure_allowed

STATUS_ONLY = "curl() { command curl -s -o /dev/null -w '%{http_code}\\n' --max-time 10 \"$@\"; }\n"


def login_token(target: Target, identity: Identity) -> str:
    """An access token for ``identity`` from ``POST {login_path}``."""
    ensure_allowed(target.base_url)
    response = httpx.post(f"{target.base_url.rstrip('/')}{target.login_path}", timeout=10,
                          json={"username": identity.username, "password": identity.password})
    response.raise_for_status()
    return str(response.json()["access_token"])


def replay_curl(curl: str, *, token: str | None = None, timeout_s: float = 60) -> list[int]:
    """Run the reproduction; the HTTP status of each curl step, in order (0: no response)."""
    if shutil.which("curl") is None or shutil.which("bash") is None:
        raise RuntimeError("replaying a reproduction needs curl and bash on PATH; install them (apt-get install curl)")
    env = {**os.environ, "HARNESS_TOKEN": token or ""}
    done = subprocess.run(["bash", "-c", STATUS_ONLY + curl], capture_output=True, text=True, env=env,
                          timeout=timeout_s)
    return [int(line) for line in done.stdout.split() if line.isdigit()]


def identity_named_in(curl: str, target: Target) -> Identity | None:
    """The identity a reproduction says to log in as (``# log in as acme_user ...``), if any."""
    for name, identity in target.identities.items():
        if f"log in as {name} " in curl:
            return identity
    return None
