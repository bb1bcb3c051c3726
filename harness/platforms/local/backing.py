"""The reference system's backing services when asked for: PostgreSQL (``--backend postgres``) and Redis (``--redis``).

Real binaries from the Debian packages, each started by the supervisor like any component, with its
data in a temporary folder the platform removes on stop.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from harness.errors import PlatformError
from harness.platforms.local.supervisor import ComponentSpec

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_spec(port: int, root: Path) -> ComponentSpec:
    """``initdb`` a cluster under ``root`` and return how to run it (as ``postgres`` when we are root)."""
    for binary in ("initdb", "postgres"):
        if not (POSTGRES_BIN / binary).exists():
            raise PlatformError(f"{POSTGRES_BIN / binary} not found: install PostgreSQL 15 "
                                "(`apt-get install postgresql`) or use backend='sqlite'")
    # PostgreSQL refuses to run as root: run it as the `postgres` OS user (or ourselves when not root)
    user = "postgres" if os.geteuid() == 0 else None
    gid = None
    if user is not None:
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise PlatformError("running as root but there is no `postgres` OS user to run PostgreSQL as; "
                                "install the postgresql package (it creates the user)") from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
        gid = pw.pw_gid
    result = subprocess.run([str(POSTGRES_BIN / "initdb"), "-D", str(root / "data"), "-U", "refsys",
                             "--auth=trust", "--no-sync", "-E", "UTF8", "--no-instructions"],
                            user=user, group=gid, capture_output=True, text=True, timeout=60, cwd=root)
    if result.returncode != 0:
        raise PlatformError(f"initdb failed ({result.returncode}): {result.stderr[-1500:]}")
    # fsync=off: safe against process kills/restarts (the chaos we do), not against OS crashes
    return ComponentSpec(
        name="postgres", port=port, readiness="postgres", ready_probe={"user": "refsys"}, user=user, cwd=str(root),
        stop_signal=signal.SIGINT,  # "fast shutdown"
        argv=[str(POSTGRES_BIN / "postgres"), "-D", str(root / "data"), "-p", str(port),
              "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
              "-c", "fsync=off", "-c", "max_connections=100", "-c", "shared_buffers=32MB"])


def create_database(port: int) -> None:
    """The ``refsys`` database, once PostgreSQL answers."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="refsys", dbname="postgres", autocommit=True,
                         connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'refsys'").fetchone():
            conn.execute("CREATE DATABASE refsys")


def redis_spec(port: int, data_dir: Path) -> ComponentSpec:
    binary = shutil.which("redis-server")
    if binary is None:
        raise PlatformError("redis-server not found on PATH: `apt-get install redis-server`, or run without --redis")
    return ComponentSpec(
        name="redis", port=port, readiness="redis",
        argv=[binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", str(data_dir), "--daemonize", "no", "--protected-mode", "yes", "--logfile", ""])
