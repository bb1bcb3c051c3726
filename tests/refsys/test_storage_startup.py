"""Replicas starting together on a fresh SQLite file: every one of them must come up."""

from __future__ import annotations

import threading
from pathlib import Path

from fixtures.refsys.gateway.storage import Store


def test_replicas_starting_at_once_on_a_fresh_database_all_start(tmp_path: Path) -> None:
    # Switching a new file to WAL races; without the retry ~1 start in 100 died "database is locked".
    errors: list[str] = []
    for attempt in range(30):
        url = f"sqlite:///{tmp_path / f'fresh-{attempt}.db'}"
        barrier = threading.Barrier(4)

        def start(barrier: threading.Barrier = barrier, url: str = url) -> None:  # this attempt's, bound now
            barrier.wait()
            store = Store(url)
            try:
                store.migrate_and_seed()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(exc))
            finally:
                store.close()

        replicas = [threading.Thread(target=start) for _ in range(4)]
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.join(timeout=60)
    assert errors == []
    assert len(Store(f"sqlite:///{tmp_path / 'fresh-0.db'}").users_in_tenant("acme")) == 2
