"""Python's cyclic garbage collector, paused while a bulk of rows is built and written.

A 15,000-item bulk call (or a batch of a file upload) allocates a few hundred thousand objects that all survive
until its rows are written: the collector, triggered every 700 allocations, traverses them again and again, and
in bench/bulk.py that was two thirds of the call (docs/benchmarks.md). None of those objects is garbage before
the write ends, so pausing the collector changes nothing but the time; reference counting still frees everything
that is not in a cycle, and the cycles made meanwhile (anywhere in the process) are collected once it resumes.

The pause is process-wide (gc.disable is), so it counts its holders: the collector resumes when the last one
leaves, and only if it was running when the first one came.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (nor in other threads while it runs)."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()
