"""What the control API does, with no HTTP in it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ccaas_emulator import compliance
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import (
    CancellationPolicy,
    DeliveryAttribute,
    DeliveryEvent,
    DeliveryTask,
    EngagementPacing,
    OptOut,
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
    """Empty deliveries, attributes, tasks, scripted outcomes, pacing, opt-outs and the journal; optionally
    reseed. Cancellation policies stay, as configurations do."""
    for model in (DeliveryEvent, DeliveryAttribute, ProactiveDelivery, DeliveryTask, ScriptedOutcome,
                  EngagementPacing, OptOut):  # fmt: skip
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


# --- consent and cancellation policies (issue #14 items 6-7) ----------------------------------------------


def sms_reply(session: Session, *, sender: str, text: str, clock: Clock) -> str | None:
    """An SMS reply from `sender`: STOP (and the carriers' other opt-out words) opts the number out, START opts it
    back in, anything else changes nothing. Returns what it did ("STOP", "START" or None)."""
    keyword = compliance.reply_keyword(text)
    if keyword == "STOP":
        already = session.scalar(select(OptOut.id).where(OptOut.phone_number == sender).limit(1))
        if already is None:
            session.add(OptOut(id=uuid.uuid4(), phone_number=sender, source="SMS reply STOP", created_on=clock.now()))
    elif keyword == "START":
        session.execute(delete(OptOut).where(OptOut.phone_number == sender))
    return keyword


def opt_outs(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": str(row.id), "phoneNumber": row.phone_number, "contactId": row.contact_id, "source": row.source,
         "deliveryId": str(row.delivery_id) if row.delivery_id else None, "createdOn": format_timestamp(row.created_on)}
        for row in session.scalars(select(OptOut).order_by(OptOut.created_on, OptOut.id))
    ]  # fmt: skip


def remove_opt_out(session: Session, *, opt_out_id: uuid.UUID) -> bool:
    return bool(session.execute(delete(OptOut).where(OptOut.id == opt_out_id)).rowcount)  # type: ignore[attr-defined]


def add_policy(session: Session, *, policy: CancellationPolicy) -> dict[str, Any]:
    session.add(policy)
    session.flush()
    return policy_json(policy)


def policies(session: Session) -> list[dict[str, Any]]:
    query = select(CancellationPolicy).order_by(CancellationPolicy.created_on, CancellationPolicy.id)
    return [policy_json(policy) for policy in session.scalars(query)]


def remove_policy(session: Session, *, policy_id: uuid.UUID) -> bool:
    result = session.execute(delete(CancellationPolicy).where(CancellationPolicy.id == policy_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def policy_json(policy: CancellationPolicy) -> dict[str, Any]:
    return {
        "id": str(policy.id),
        "proactiveEngagementConfigId": str(policy.engagement_config_id) if policy.engagement_config_id else None,
        "country": policy.country,
        "state": policy.state,
        "postalCode": policy.postal_code,
        "executeUntil": format_timestamp(policy.execute_until) if policy.execute_until else None,
        "comment": policy.comment,
        "createdOn": format_timestamp(policy.created_on),
    }
