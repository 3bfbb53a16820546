"""The delivery event journal: every state change, kept in the database and logged as one JSON line."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import DeliveryEvent
from ccaas_emulator.db.rows import insert_rows
from ccaas_emulator.domain import DeliveryResult, DeliveryStatus

log = logging.getLogger("ccaas_emulator.journal")


@dataclass(frozen=True)
class StateChange:
    delivery_id: uuid.UUID
    at: datetime
    from_status: DeliveryStatus | None
    to_status: DeliveryStatus
    result: DeliveryResult | None = None
    detail: dict[str, Any] | None = None


def record(session: Session, changes: list[StateChange], *, actor: str) -> None:
    """Write the changes in the current unit of work (so they commit or roll back with it) and log them."""
    record_many(session, [(change, actor) for change in changes])


_HELD = "ccaas_journal_held"


@contextmanager
def held(session: Session) -> Iterator[None]:
    """Inside the block, the changes recorded in the session are kept and written when it ends, in one statement:
    time travel's transaction records a few at each of many event times, and nothing reads the journal before
    the transaction commits. Nothing is written if the block raises (its transaction rolls back)."""
    if _HELD in session.info:
        yield
        return
    kept: list[tuple[StateChange, str]] = []
    session.info[_HELD] = kept
    try:
        yield
    finally:
        session.info.pop(_HELD, None)
    record_many(session, kept)


def record_many(session: Session, entries: list[tuple[StateChange, str]]) -> None:
    """record() for changes made by several actors (a group commit): one executemany (db.rows.insert_rows)."""
    if not entries:
        return
    kept = session.info.get(_HELD)
    if kept is not None:
        kept.extend(entries)
        return
    insert_rows(
        session,
        DeliveryEvent,
        [
            {
                "delivery_id": change.delivery_id,
                "at": change.at,
                "from_status": change.from_status,
                "to_status": change.to_status,
                "result": change.result,
                "actor": actor,
                "detail": change.detail,
            }
            for change, actor in entries
        ],
    )
    if log.isEnabledFor(logging.INFO):
        for change, actor in entries:
            log.info(
                orjson.dumps(
                    {
                        "event": "delivery.status",
                        "deliveryId": str(change.delivery_id),
                        "at": change.at.isoformat(),
                        "from": change.from_status,
                        "to": change.to_status,
                        "result": change.result,
                        "actor": actor,
                    }
                ).decode()
            )
