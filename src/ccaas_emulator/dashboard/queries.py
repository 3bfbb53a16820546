"""What the dashboard shows, read in one unit of work with bounded queries (no HTTP in it).

Every list is bounded (the newest N deliveries, the tasks and journal events of those N only) and every total is
an SQL aggregate, so one snapshot costs the same few statements with 100 deliveries or 100,000: counts by status
and by result are one GROUP BY each, the queue depths one GROUP BY over the claim index's leading columns, the
timeline one pass that puts each delivery in a bucket of simulated time with a CASE.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, literal, select
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import (
    DeliveryEvent,
    DeliveryTask,
    EngagementConfig,
    ProactiveDelivery,
    RepresentativePool,
    ScriptedOutcome,
)
from ccaas_emulator.domain import DeliveryStatus, format_timestamp

DEFAULT_DELIVERIES = 50
MAX_DELIVERIES = 200
"""The newest deliveries a snapshot lists (with their tasks and journal events)."""
MAX_ROWS = 100
"""Engagements, queues and scripted outcomes listed at most (each with its total count beside it)."""
TIMELINE_BUCKETS = 24
MIN_BUCKET = timedelta(minutes=5)
"""The deliveries-over-time chart has this many buckets of simulated time, each at least this wide."""

D = ProactiveDelivery
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.IN_PROCESS)


def snapshot(session: Session, *, now: datetime, limit: int = DEFAULT_DELIVERIES) -> dict[str, Any]:
    """The dashboard's whole JSON document at simulated time `now`."""
    deliveries = _newest_deliveries(session, limit)
    ids = [row.id for row in deliveries]
    events = _events_of(session, ids)
    task_ids = sorted({row.task_id for row in deliveries if row.task_id is not None})
    return {
        "totals": _totals(session),
        "engagements": _engagements(session),
        "queues": _queues(session),
        "deliveries": [_delivery_json(row, events.get(row.id, [])) for row in deliveries],
        "tasks": _tasks(session, task_ids),
        "scriptedOutcomes": _scripted(session),
        "timeline": _timeline(session, now),
    }


def _totals(session: Session) -> dict[str, Any]:
    by_status = {
        str(status): count for status, count in session.execute(select(D.status, func.count()).group_by(D.status))
    }
    by_result = {
        str(result): count
        for result, count in session.execute(
            select(D.result, func.count()).where(D.result.is_not(None)).group_by(D.result)
        )
    }
    return {
        "deliveries": sum(by_status.values()),
        "byStatus": by_status,
        "byResult": dict(sorted(by_result.items(), key=lambda item: (-item[1], item[0]))),
    }


def _engagements(session: Session) -> dict[str, Any]:
    depth: dict[str, dict[str, int]] = {}
    statement = (
        select(D.engagement_config_id, D.status, func.count())
        .where(D.status.in_(OPEN_STATUSES))
        .group_by(D.engagement_config_id, D.status)
    )
    for config_id, status, count in session.execute(statement):
        depth.setdefault(str(config_id).lower(), {})[str(status)] = count
    configs = session.scalars(
        select(EngagementConfig).order_by(EngagementConfig.name, EngagementConfig.id).limit(MAX_ROWS)
    )
    total = session.scalar(select(func.count()).select_from(EngagementConfig)) or 0
    value = []
    for config in configs:
        counts = depth.get(str(config.id), {})
        value.append({
            "id": str(config.id),
            "name": config.name,
            "channel": str(config.outreach_type.channel),
            "dialMode": config.dial_mode.label,
            "priority": config.priority.label,
            "processingOrder": config.processing_order.label,
            "queueId": str(config.queue_id) if config.queue_id else None,
            "active": not config.suspended,
            "pending": counts.get(DeliveryStatus.PENDING, 0),
            "inProcess": counts.get(DeliveryStatus.IN_PROCESS, 0),
        })  # fmt: skip
    return {"total": total, "value": value}


def _queues(session: Session) -> dict[str, Any]:
    pools = session.scalars(select(RepresentativePool).order_by(RepresentativePool.queue_id).limit(MAX_ROWS))
    value = [{"queueId": str(pool.queue_id), "representatives": pool.representatives,
              "averageHandleSeconds": pool.average_handle_seconds} for pool in pools]  # fmt: skip
    return {"total": session.scalar(select(func.count()).select_from(RepresentativePool)) or 0, "value": value}


def _newest_deliveries(session: Session, limit: int) -> Sequence[ProactiveDelivery]:
    # ix_msdyn_proactive_delivery_createdon: the newest N are read off the index, not sorted out of every row.
    statement = select(D).order_by(D.created_on.desc(), D.sequence.desc(), D.id).limit(limit)
    return session.scalars(statement).all()


def _events_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DeliveryEvent]]:
    events: dict[uuid.UUID, list[DeliveryEvent]] = {}
    if not ids:
        return events
    statement = select(DeliveryEvent).where(DeliveryEvent.delivery_id.in_(ids)).order_by(DeliveryEvent.id)
    for event in session.scalars(statement):
        events.setdefault(event.delivery_id, []).append(event)
    return events


def _delivery_json(row: ProactiveDelivery, events: list[DeliveryEvent]) -> dict[str, Any]:
    # The chain step a dial was made for is in the journal: the first event of a task's delivery carries it
    # (chain.step_detail), so the dashboard reads it there rather than keeping a second copy.
    step = next((event.detail for event in events if event.detail and "loop" in event.detail), None)
    return {
        "id": str(row.id),
        "to": row.to_address,
        "channel": str(row.channel) if row.channel else None,
        "engagementId": row.engagement_config_id,
        "dialMode": str(row.dial_mode),
        "status": str(row.status),
        "result": str(row.result) if row.result else None,
        "createdOn": _timestamp(row.created_on),
        "resultDate": _timestamp(row.result_date),
        "windowStart": _timestamp(row.window_start_date),
        "windowEnd": _timestamp(row.window_end_date),
        "taskId": str(row.task_id) if row.task_id else None,
        "chainStep": None if step is None else {key: step.get(key) for key in ("loop", "contactIndex", "phoneIndex",
                                                                                "phoneType", "contactId")},
        "events": [
            {"at": _timestamp(event.at), "from": str(event.from_status) if event.from_status else None,
             "to": str(event.to_status), "result": str(event.result) if event.result else None, "actor": event.actor}
            for event in events
        ],
    }  # fmt: skip


def _tasks(session: Session, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    tasks = session.scalars(
        select(DeliveryTask).where(DeliveryTask.id.in_(ids)).order_by(DeliveryTask.created_on.desc())
    )
    value = []
    for task in tasks:
        contacts = task.contacts.contacts
        value.append({
            "id": str(task.id),
            "engagementId": str(task.engagement_config_id),
            "channel": str(task.channel),
            "status": str(task.status),
            "lastResult": str(task.last_result) if task.last_result else None,
            "loop": task.loop_number,
            "contactIndex": task.contact_index,
            "phoneIndex": task.phone_index,
            "contacts": len(contacts),
            "phones": sum(len(contact.phones) for contact in contacts),
            "dials": task.seq_no,
            "customerReached": task.customer_reached,
            "nextScheduledAt": _timestamp(task.next_scheduled_at),
            "createdOn": _timestamp(task.created_on),
        })  # fmt: skip
    return value


def _scripted(session: Session) -> dict[str, Any]:
    rows = session.scalars(select(ScriptedOutcome).order_by(ScriptedOutcome.id).limit(MAX_ROWS))
    value = [{"phoneNumber": row.phone_number, "result": str(row.result), "talkSeconds": row.talk_seconds,
              "ringSeconds": row.ring_seconds} for row in rows]  # fmt: skip
    return {"total": session.scalar(select(func.count()).select_from(ScriptedOutcome)) or 0, "value": value}


def _timeline(session: Session, now: datetime) -> dict[str, Any]:
    """Deliveries created, and deliveries that got their result, per bucket of simulated time, from the first
    delivery to now (or the newest, if the clock was set back): one pass over the rows in that span."""
    span = session.execute(select(func.min(D.created_on), func.max(D.created_on))).one()
    first: datetime | None = span[0]
    last: datetime = span[1]
    if first is None:
        return {"start": None, "bucketSeconds": None, "created": [], "finished": []}
    end = max(now, last)
    width = max(MIN_BUCKET, (end - first) / TIMELINE_BUCKETS)
    width = timedelta(seconds=-(-width.total_seconds() // 60) * 60)  # whole minutes read better on an axis
    edges = [first + width * index for index in range(1, TIMELINE_BUCKETS)]
    created = _bucket(D.created_on, edges)
    finished = _bucket(D.result_date, edges)
    counts_created = [0] * TIMELINE_BUCKETS
    counts_finished = [0] * TIMELINE_BUCKETS
    statement = select(created, finished, func.count()).group_by(created, finished)
    for created_at, finished_at, count in session.execute(statement):
        counts_created[created_at] += count
        if finished_at is not None and finished_at >= 0:
            counts_finished[finished_at] += count
    return {"start": _timestamp(first), "bucketSeconds": int(width.total_seconds()), "created": counts_created,
            "finished": counts_finished}  # fmt: skip


def _bucket(column: Any, edges: list[datetime]) -> ColumnElement[int]:
    """The bucket index of a timestamp: 0 before the first edge, len(edges) from the last, -1 for NULL (a delivery
    without a result yet)."""
    whens = [(column < edge, literal(index, Integer)) for index, edge in enumerate(edges)]
    return case((column.is_(None), literal(-1, Integer)), *whens, else_=literal(len(edges), Integer))


def _timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None
