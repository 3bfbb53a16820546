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
from itertools import pairwise
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from ccaas_emulator.db.functions import BucketOf
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
    timeline, by_result = _timeline(session, now)
    return {
        "totals": _totals(session, by_result),
        "engagements": _engagements(session),
        "queues": _queues(session),
        "deliveries": [_delivery_json(row, events.get(row.id, [])) for row in deliveries],
        "tasks": _tasks(session, task_ids),
        "scriptedOutcomes": _scripted(session),
        "timeline": timeline,
    }


def _totals(session: Session, by_result: dict[str, int]) -> dict[str, Any]:
    # ix_delivery_window_end leads with the status: the counts are read off the index.
    by_status = {
        str(status): count for status, count in session.execute(select(D.status, func.count()).group_by(D.status))
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


def _timeline(session: Session, now: datetime) -> tuple[dict[str, Any], dict[str, int]]:
    """Deliveries created, and deliveries that got their result, per bucket of simulated time from the first
    delivery to now (or the newest, if the clock was set back); and the count of each result.

    Created: one count per bucket, each a range of the createdon index. Results: one pass over the rows with a
    result, grouped by result and by bucket of their result date (neither has an index to range over), which gives
    both the outcomes chart and the finished series.
    """
    # Two statements, not one: SQLite reads a lone min() or max() off the index, both together scan it.
    first: datetime | None = session.scalar(select(func.min(D.created_on)))
    if first is None:
        return {"start": None, "bucketSeconds": None, "created": [], "finished": []}, {}
    last: datetime = session.scalar(select(func.max(D.created_on))) or first
    end = max(now, last)
    width = max(MIN_BUCKET, (end - first) / TIMELINE_BUCKETS)
    width = timedelta(seconds=-(-width.total_seconds() // 60) * 60)  # whole minutes read better on an axis
    edges = [first + width * index for index in range(TIMELINE_BUCKETS + 1)]
    edges[-1] = max(edges[-1], end + timedelta(microseconds=1))
    in_bucket = [
        select(func.count()).where(D.created_on >= low, D.created_on < high).scalar_subquery()
        for low, high in pairwise(edges)
    ]
    created = list(session.execute(select(*in_bucket)).one())
    finished = [0] * TIMELINE_BUCKETS
    by_result: dict[str, int] = {}
    bucket = BucketOf(D.result_date, literal(first.timestamp()), literal(width.total_seconds()))
    statement = select(D.result, bucket, func.count()).where(D.result.is_not(None)).group_by(D.result, bucket)
    for result, index, count in session.execute(statement):
        by_result[str(result)] = by_result.get(str(result), 0) + count
        if index is not None:  # a result without a result date (none the dialer writes) is counted, not charted
            finished[min(max(index, 0), TIMELINE_BUCKETS - 1)] += count
    timeline = {"start": _timestamp(first), "bucketSeconds": int(width.total_seconds()), "created": created,
                "finished": finished}  # fmt: skip
    return timeline, by_result


def _timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None
