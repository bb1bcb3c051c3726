"""The same gateway on PostgreSQL 15 (psycopg 3): a throwaway server in a temp dir.

Starting PostgreSQL as root: ``postgres`` refuses to run as root, so the data dir is
chowned to the ``postgres`` user and initdb/pg_ctl run through ``runuser -u postgres``.
As a non-root user the binaries run directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.refsys.conftest import free_port

pytestmark = pytest.mark.integration

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
    # not under pytest's tmp dir: that is private to root (0700), so the postgres user cannot enter it
    base = Path(tempfile.mkdtemp(prefix="refsys-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    options = f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        _run(_as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "refsys", "--auth=trust",
                                "-E", "UTF8"]))
        _run(_as_postgres_user([*pg_ctl, "-o", options, "-l", str(base / "pg.log"), "-w", "start"]))
        import psycopg

        with psycopg.connect(f"postgresql://refsys@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE refsys")
        yield f"postgresql://refsys@127.0.0.1:{port}/refsys"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres_user([*pg_ctl, "-m", "immediate", "-w", "stop"]), capture_output=True,
                           timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}")


@pytest.fixture
def clean_database(postgres_url: str) -> str:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return postgres_url


async def test_core_flows_on_postgres(make_gateway: Any, clean_database: str) -> None:
    gw = await make_gateway(db_url=clean_database)
    tokens = await gw.login()
    alice = {"Authorization": f"Bearer {tokens['access_token']}"}
    created = await gw.create(alice, "100% good")
    found = (await gw.client.get("/analyses", params={"q": "100%"}, headers=alice)).json()
    assert [item["id"] for item in found["items"]] == [created["id"]]
    assert (await gw.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 200
    assert (await gw.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await gw.client.get("/readyz")).json()["checks"]["database"] is True


async def test_two_replicas_share_the_rate_limit_on_postgres(make_gateway: Any, clean_database: str) -> None:
    one = await make_gateway(db_url=clean_database, rate_limit=4)
    two = await make_gateway(db_url=clean_database, rate_limit=4)
    alice = await one.auth()
    seen = [(await gw.client.get("/me", headers=alice)).status_code for gw in (one, two, one, two, one)]
    assert seen == [200, 200, 200, 200, 429]


async def test_defect_sqli_on_postgres(make_gateway: Any, clean_database: str) -> None:
    gw = await make_gateway(db_url=clean_database, defects="sqli")
    await gw.create(await gw.auth("globex_user"), "globex secret")
    alice = await gw.auth("acme_user")
    assert (await gw.client.get("/analyses", params={"q": "'"}, headers=alice)).status_code == 500
    leaked = (await gw.client.get("/analyses", params={"q": "zzz' OR 1=1 --"}, headers=alice)).json()
    assert [item["text"] for item in leaked["items"]] == ["globex secret"]
    started = time.perf_counter()
    await gw.client.get("/analyses", params={"q": "zzz' OR pg_sleep(0.3) IS NULL --"}, headers=alice)
    assert time.perf_counter() - started >= 0.3
