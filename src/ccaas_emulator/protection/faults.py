"""Faults armed through POST /emulator/v1/faults: the next N matching /api/data/ requests fail, wait, or both.

Kept in the memory of the process that answered the POST (like the limits, which the real service counts per web
server); `serve --workers N` with N > 1 refuses to arm one, since it would catch only that process's share.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

MAX_ARMED = 100
"""Faults armed at once (bounded memory)."""


@dataclass
class Fault:
    """A fault as armed: `status` (429, 500 or 503) and/or `delay_ms`, for the next `count` requests under `path`."""

    status: int | None
    count: int
    path: str
    delay_ms: int | None
    retry_after: int | None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    remaining: int = 0

    def __post_init__(self) -> None:
        self.remaining = self.count

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "status": self.status,
            "count": self.count,
            "remaining": self.remaining,
            "path": self.path,
            "delayMs": self.delay_ms,
            "retryAfter": self.retry_after,
        }


class FaultBoard:
    """The armed faults of this process, first armed first taken; the event loop is the only caller."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __bool__(self) -> bool:
        return bool(self._faults)

    def arm(self, fault: Fault) -> bool:
        """Arm `fault`; False when MAX_ARMED are already armed."""
        if len(self._faults) >= MAX_ARMED:
            return False
        self._faults.append(fault)
        return True

    def take(self, path: str) -> Fault | None:
        """The first armed fault whose path prefix matches, its count taken down by one (gone at zero)."""
        for index, fault in enumerate(self._faults):
            if path.startswith(fault.path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[index]
                return fault
        return None

    def armed(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
