"""Random (version 4) UUIDs, drawn from the operating system's random source 256 at a time.

uuid.uuid4() reads os.urandom(16), a system call that releases the GIL: under load the event loop then waits for
the group commit's writer thread to hand the GIL back (up to sys.getswitchinterval(), 5 ms) once per id, and a
request takes three to five ids (its REQ_ID, its delivery, its attribute rows). The ids are as random as
uuid4's, from the same source; a forked child starts with an empty pool, so it never repeats its parent's ids.
Where uuid.uuid4 has been replaced (tests seed it, for the same ids on every run), the replacement is used.
"""

from __future__ import annotations

import os
import uuid

BATCH = 256

_pool: list[uuid.UUID] = []


_UUID4 = uuid.uuid4


def new_uuid() -> uuid.UUID:
    """A random UUID (RFC 9562 version 4), like uuid.uuid4()."""
    if uuid.uuid4 is not _UUID4:
        return uuid.uuid4()
    while True:
        try:
            return _pool.pop()  # atomic: any thread may take one
        except IndexError:
            _refill()


def _refill() -> None:
    raw = os.urandom(16 * BATCH)
    _pool.extend(uuid.UUID(bytes=raw[start : start + 16], version=4) for start in range(0, len(raw), 16))


os.register_at_fork(after_in_child=_pool.clear)
