"""Explicit registries: named things a caller registers on purpose, never by importing a module.

One pattern for every extension point of the harness — undo kinds (``harness.faults``), chaos
fault kinds (``harness.chaos.faults``), security rules (``harness.security.registry``): a module
*declares* its items as plain values, and a ``load_…()`` function builds a ``Registry`` by
calling each contributor's ``register_…(registry)`` explicitly. A platform or plugin that adds
its own kinds writes one such function and is listed in that loader; nothing registers itself
as a side effect of being imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Items by unique name, in the order they were registered; ``registry[name]`` lists the known
    names when ``name`` is unknown."""

    def __init__(self, what: str, items: Iterable[tuple[str, T]] = ()) -> None:
        self.what = what  # e.g. "undo kind", for error messages
        self._items: dict[str, T] = {}
        for name, item in items:
            self.register(name, item)

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a second item under the same name is a programming error."""
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._items[name] = item
        return item

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._items)) or 'none'}") from None

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def values(self) -> list[T]:
        return list(self._items.values())
