"""What the control API does, with no HTTP in it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import (
    DeliveryAttribute,
    DeliveryEvent,
    DeliveryTask,
    EngagementPacing,
    ProactiveDelivery,
    RepresentativePool,
    ScriptedOutcome,
)
from ccaas_emulator.dialer.outcomes import ScriptedCall
from ccaas_emulator.domain import format_timestamp
from ccaas_emulator.seed import apply_seed, demo_seed


def script_outcomes(session: Session, *, phone_number: str, calls: list[ScriptedCall], clock: Clock) -> int:
    """Queue outcomes for a number, consumed one per dial in the order given."""
    now = clock.now()
    for call in calls:
        session.add(
            ScriptedOutcome(
                phone_number=phone_number,
                result=call.result,
                talk_seconds=call.talk_seconds,
                ring_seconds=call.ring_seconds,
                disposition_codes=call.disposition_codes or None,
                attributes=call.attributes or None,
                created_on=now,
            )
        )
    session.flush()
    return len(calls)


def scripted_outcomes(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(ScriptedOutcome).order_by(ScriptedOutcome.id)).all()
    return [
        {
            "phoneNumber": row.phone_number,
            "result": row.result,
            "talkSeconds": row.talk_seconds,
            "ringSeconds": row.ring_seconds,
            "dispositionCodes": row.disposition_codes or [],
            "attributes": row.attributes or {},
        }
        for row in rows
    ]


def clear_outcomes(session: Session) -> None:
    session.execute(delete(ScriptedOutcome))


def set_queue(session: Session, *, queue_id: uuid.UUID, representatives: int, handle_seconds: int) -> None:
    pool = session.get(RepresentativePool, queue_id)
    if pool is None:
        pool = RepresentativePool(queue_id=queue_id, round_robin_cursor=0)
        session.add(pool)
    pool.representatives, pool.average_handle_seconds = representatives, handle_seconds


def queues(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "queueId": str(pool.queue_id),
            "representatives": pool.representatives,
            "averageHandleSeconds": pool.average_handle_seconds,
        }
        for pool in session.scalars(select(RepresentativePool).order_by(RepresentativePool.queue_id))
    ]


def reset(session: Session, *, reseed: bool, clock: Clock) -> None:
    """Empty deliveries, attributes, tasks, scripted outcomes, pacing and the journal; optionally reseed."""
    for model in (DeliveryEvent, DeliveryAttribute, ProactiveDelivery, DeliveryTask, ScriptedOutcome,
                  EngagementPacing):  # fmt: skip
        session.execute(delete(model))
    if reseed:
        apply_seed(session, demo_seed(), clock=clock, overwrite=True)


def delivery_events(session: Session, *, delivery_id: uuid.UUID) -> list[dict[str, Any]] | None:
    """The journal of one delivery, oldest first; None when there is no such delivery."""
    if session.get(ProactiveDelivery, delivery_id) is None:
        return None
    events = session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery_id).order_by(DeliveryEvent.id)
    ).all()
    return [
        {
            "at": _iso(event.at),
            "from": event.from_status,
            "to": event.to_status,
            "result": event.result,
            "actor": event.actor,
            "detail": event.detail or {},
        }
        for event in events
    ]


def _iso(moment: datetime) -> str:
    return format_timestamp(moment)
