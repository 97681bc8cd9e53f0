"""`Kept`: the bounded dict behind the small caches of the request path.

Several steps keep what they worked out for a value that recurs (a model's defaults, a rule
list's plan for a message type, a verdict's encoded ratings) in a plain dict, looked up with
`dict.get` on every call. What bounds them is the same everywhere: when a new entry would
exceed the size, the dict is emptied first, so memory stays bounded whatever callers send
and the common entries are soon back. Lookups stay `dict.get`, in C; only a miss calls
`keep`.

A cache keyed by `id(obj)` stores `(obj, value)`: holding the object keeps its id from being
reused while the entry lives, and the caller checks `entry[0] is obj` on a hit.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(dict[K, V]):
    """A dict of at most `size` entries, emptied when a new one would exceed that."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: K, value: V) -> V:
        """Store `value` under `key` (emptying the dict first when it is full); `value`."""
        if len(self) >= self.size and key not in self:
            self.clear()
        self[key] = value
        return value
