"""Bounded caches of a cell's derived PHY tables, owned by the cell (issue 13), not module globals.

A cell's transmit chain derives the same tables subframe after subframe: the PDSCH RE positions of
each allocation (TS 36.211 6.3.5), the rate-matching selection of each transport format (TS 36.212
5.1.4.1), the grants of its DCIs (TS 36.213 7.1.6), its repeated broadcast blocks. Functions that
derive them are decorated with `cell_cached(maxsize)`; their results are kept in the `CellCaches`
that is current when they are called. gateway.enodeb.ENodeB owns one and makes it current while it
builds a subframe, so cells in one process (gateway/beams.py runs several beams per worker) never
share or evict each other's entries and each cell's memory is bounded by the sizes stated at each
decorated function. Calls outside any cell (a handset's receiver, a test) use a process default.

    caches = CellCaches()
    with caches.active():
        pdsch_map(...)            # cached entries land in `caches`
    caches.info()                 # {name: CacheInfo(hits, misses, maxsize, currsize)}
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import NamedTuple

__all__ = ["CacheInfo", "CellCaches", "cell_cached", "current_caches"]


class CacheInfo(NamedTuple):
    """As functools' cache_info: hits, misses, bound, entries held."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class _Table:
    """One function's bounded LRU table inside one CellCaches."""

    __slots__ = ("entries", "hits", "misses")

    def __init__(self) -> None:
        self.entries: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0


_MAXSIZE: dict[str, int] = {}  # bound of each decorated function's table, by name


class CellCaches:
    """The cached tables of one cell: one bounded LRU table per `cell_cached` function."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator[CellCaches]:
        """Make these the current caches (this thread / context) for the duration of the block."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def table(self, name: str) -> _Table:
        t = self._tables.get(name)
        if t is None:
            t = self._tables[name] = _Table()
        return t

    def info(self, name: str | None = None):
        """CacheInfo of the function `name` (module.qualname), or a dict of all of them."""
        if name is None:
            return {n: self.info(n) for n in sorted(_MAXSIZE)}
        t = self._tables.get(name) or _Table()
        return CacheInfo(t.hits, t.misses, _MAXSIZE[name], len(t.entries))


_DEFAULT = CellCaches()
_current: ContextVar[CellCaches | None] = ContextVar("soragate_cell_caches", default=None)


def current_caches() -> CellCaches:
    """The caches of the cell being built, or the process default outside any cell."""
    return _current.get() or _DEFAULT


def cell_cached(maxsize: int) -> Callable[[Callable], Callable]:
    """Decorator: cache the function's results (hashable positional arguments) in the current
    CellCaches, at most `maxsize` entries per cell, least recently used evicted first. The wrapper
    keeps `cache_info()` (of the current caches) and `__wrapped__`."""
    if maxsize < 1:
        raise ValueError(f"maxsize must be >= 1, got {maxsize}")

    def decorate(func: Callable) -> Callable:
        name = f"{func.__module__}.{func.__qualname__}"
        _MAXSIZE[name] = int(maxsize)

        @functools.wraps(func)
        def wrapper(*args):
            t = (_current.get() or _DEFAULT).table(name)
            entries = t.entries
            try:
                value = entries[args]
            except KeyError:
                t.misses += 1
                value = entries[args] = func(*args)
                if len(entries) > maxsize:
                    entries.popitem(last=False)
                return value
            t.hits += 1
            entries.move_to_end(args)
            return value

        wrapper.cache_info = lambda: current_caches().info(name)  # type: ignore[attr-defined]
        wrapper.cache_name = name  # type: ignore[attr-defined]
        return wrapper

    return decorate
