"""Shared timing helper for bench modules: best-of-N CPU time of a callable."""

from __future__ import annotations

import time
from collections.abc import Callable


def cpu_seconds(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best per-call process CPU time over `repeat` rounds of `number` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - t0) / number)
    return best
