"""Replay a Finding's curl reproduction against the live target, exactly as a human would.

The curl text is run by ``bash`` (schemathesis quotes bytes with ``$'...'``) with a shell function
in front of ``curl`` that saves each step's status, headers and body to a private folder and still
prints the body, so a chained step's ``STEP1_BODY=$(curl ...)`` captures it as it would for a
human. A multi-step (stateful) reproduction yields one ``ReplayedStep`` per curl, in order.
``$HARNESS_TOKEN`` is filled by logging in through the target.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.platforms.base import Identity, Target
from harness.safety import ensure_allowed

RECORDING_CURL = r"""curl() {
  local step="$HARNESS_REPLAY_DIR/$(( $(find "$HARNESS_REPLAY_DIR" -name '*.status' | wc -l) + 1 ))"
  : > "$step.body"; : > "$step.headers"
  command curl -s -o "$step.body" -D "$step.headers" -w '%{http_code}' --max-time 10 "$@" > "$step.status"
  cat "$step.body"
}
"""


@dataclass(frozen=True)
class ReplayedStep:
    """What one curl of a reproduction got back (status 0: no response)."""

    status: int
    content_type: str
    body: str

    def as_response(self, url: str = "http://replayed.invalid/") -> httpx.Response:
        """The step as an ``httpx.Response``, for schemathesis' response validation."""
        response = httpx.Response(self.status, content=self.body.encode(), request=httpx.Request("GET", url),
                                  headers={"content-type": self.content_type} if self.content_type else {})
        response.elapsed = datetime.timedelta(0)  # validation reads it; a replay has no meaningful timing
        return response


def login_token(target: Target, identity: Identity) -> str:
    """An access token for ``identity``, logged in the target's way (``Target.login``)."""
    from harness.login import login

    ensure_allowed(target.base_url)
    with httpx.Client(base_url=target.base_url.rstrip("/"), timeout=10) as client:
        return login(client.request, target.login, identity).access


def replay_curl(curl: str, *, token: str | None = None, timeout_s: float = 60) -> list[ReplayedStep]:
    """Run the reproduction; what each curl step got back, in order."""
    if shutil.which("curl") is None or shutil.which("bash") is None:
        raise RuntimeError("replaying a reproduction needs curl and bash on PATH; install them (apt-get install curl)")
    with tempfile.TemporaryDirectory(prefix="harness-replay-") as folder:
        env = {**os.environ, "HARNESS_TOKEN": token or "", "HARNESS_REPLAY_DIR": folder}
        subprocess.run(["bash", "-c", RECORDING_CURL + curl], capture_output=True, text=True, env=env,
                       timeout=timeout_s)
        steps = sorted(Path(folder).glob("*.status"), key=lambda p: int(p.stem))
        return [_read_step(path) for path in steps]


def _read_step(status_file: Path) -> ReplayedStep:
    status = status_file.read_text().strip()
    headers = status_file.with_suffix(".headers").read_text(errors="replace").splitlines()
    content_type = next((line.split(":", 1)[1].strip() for line in reversed(headers)
                         if line.lower().startswith("content-type:")), "")
    body = status_file.with_suffix(".body").read_text(errors="replace")
    return ReplayedStep(status=int(status) if status.isdigit() else 0, content_type=content_type, body=body)


def schema_violation(schema: Any, operation: str, step: ReplayedStep) -> str | None:
    """Why ``step``'s response breaks what ``operation`` ("GET /x") documents; ``None`` if it conforms.

    ``schema`` is the schemathesis schema the run loaded (``ContractRun.spec.schema``); validation is
    schemathesis' own (status code, content type, JSON Schema of the body).
    """
    api_operation = schema.find_operation_by_label(operation)
    if api_operation is None:
        raise LookupError(f"{operation!r} is not an operation of the loaded OpenAPI document")
    try:
        api_operation.validate_response(step.as_response())
    except (AssertionError, ExceptionGroup) as failure:  # schemathesis Failure / FailureGroup
        return str(failure).strip() or type(failure).__name__
    return None


def identity_named_in(curl: str, target: Target) -> Identity | None:
    """The identity a reproduction says to log in as (``# log in as acme_user ...``), if any."""
    for name, identity in target.identities.items():
        if f"log in as {name} " in curl:
            return identity
    return None
