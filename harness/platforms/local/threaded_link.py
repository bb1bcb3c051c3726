"""A fault link driven from synchronous code: its own asyncio loop in a daemon thread (tests, benchmarks).

``with ThreadedLink(("127.0.0.1", port)) as link: link.set_faults(latency_ms=200)`` proxies a
loopback port through a ``Link`` (``harness.platforms.local.proxy``) without an edge process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from harness.platforms.local.proxy import Link, LinkFaults, LinkStats

T = TypeVar("T")


class EventLoopThread:
    """An asyncio loop in a daemon thread, for driving links from synchronous code and tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="harness-proxy", daemon=True)
        self._thread.start()

    @staticmethod
    async def _cancel_tasks() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self._cancel_tasks(), timeout=5.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class ThreadedLink:
    """A ``Link`` running in a background thread: ``with ThreadedLink(("127.0.0.1", port)) as link:``.

    For tests and tools that need a fault proxy in front of one server without the edge process.
    """

    def __init__(self, upstream: tuple[str, int], *, name: str = "link", seed: int | None = None) -> None:
        self._upstream = upstream
        self._name = name
        self._seed = seed
        self._runner: EventLoopThread | None = None
        self._link: Link | None = None

    def __enter__(self) -> ThreadedLink:
        self._runner = EventLoopThread()
        try:
            self._link = self._runner.run(self._create())
        except BaseException:
            self._runner.stop()
            raise
        return self

    async def _create(self) -> Link:
        link = Link(self._name, *self._upstream, seed=self._seed)
        await link.start()
        return link

    def __exit__(self, *exc_info: object) -> None:
        if self._runner is not None and self._link is not None:
            with contextlib.suppress(Exception):
                self._runner.run(self._link.close())
        if self._runner is not None:
            self._runner.stop()

    @property
    def link(self) -> Link:
        if self._link is None:
            raise RuntimeError("ThreadedLink is not started: use it as a context manager")
        return self._link

    @property
    def port(self) -> int:
        return self.link.listen_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_faults(self, faults: LinkFaults | None = None, **fields: Any) -> LinkFaults:
        """Replace the link's faults: ``set_faults(latency_ms=100)`` or ``set_faults(LinkFaults(...))``."""
        new = faults if faults is not None else LinkFaults(**fields)
        assert self._runner is not None
        self._runner.run(self.link.set_faults(new))
        return new

    def clear(self) -> None:
        assert self._runner is not None
        self._runner.run(self.link.clear())

    def stats(self) -> LinkStats:
        return self.link.stats.model_copy()


@contextlib.contextmanager
def threaded_link(upstream: tuple[str, int], **kwargs: Any) -> Iterator[ThreadedLink]:
    with ThreadedLink(upstream, **kwargs) as link:
        yield link
