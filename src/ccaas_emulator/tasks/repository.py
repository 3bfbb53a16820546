"""Every query the task APIs make, in one place.

Lock order (PostgreSQL deadlock safety), the dialer's too: a task's delivery rows before the task row, each
kind in primary-key order. A cancel locks the Pending deliveries it starts from, then their tasks, then picks up
the tasks' other Pending deliveries (a dial the dialer queued for the task meanwhile).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.domain import DeliveryStatus

D = ProactiveDelivery
T = DeliveryTask
PENDING = DeliveryStatus.PENDING


def find_task(session: Session, *, task_id: uuid.UUID) -> DeliveryTask | None:
    return session.get(DeliveryTask, task_id)


def task_deliveries(session: Session, *, task_id: uuid.UUID) -> list[Row[Any]]:
    """Every dial of the task (id, status, result), in the order they were made."""
    return list(
        session.execute(
            select(D.id, D.status, D.result).where(D.task_id == task_id).order_by(D.created_on, D.sequence, D.id)
        )
    )


def find_config(session: Session, *, config_id: uuid.UUID) -> EngagementConfig | None:
    """The engagement configuration, active or not."""
    return session.get(EngagementConfig, config_id)


def set_suspended(session: Session, *, config_id: uuid.UUID, suspended: bool, now: datetime) -> bool:
    """Suspend or resume an engagement; False when it does not exist. A row already in that state is left as is."""
    found = session.execute(
        select(EngagementConfig.suspended).where(EngagementConfig.id == config_id).with_for_update()
    ).first()
    if found is None:
        return False
    if found.suspended != suspended:
        session.execute(
            update(EngagementConfig)
            .where(EngagementConfig.id == config_id)
            .values(suspended=suspended, modified_on=now, version=EngagementConfig.version + 1)
        )
    return True


_PENDING_COLUMNS = (D.id, D.task_id, D.engagement_config_id, D.status, D.version)


def lock_delivery(session: Session, *, delivery_id: uuid.UUID) -> Row[Any] | None:
    """One delivery (id, task, engagement, status, version), locked."""
    rows: list[Row[Any]] = list(session.execute(select(*_PENDING_COLUMNS).where(D.id == delivery_id).with_for_update()))
    return rows[0] if rows else None


def lock_pending_of_engagement(session: Session, *, config_id: uuid.UUID) -> list[Row[Any]]:
    """The engagement's queued deliveries, locked in key order."""
    # A text column: the intake writes the GUID in lower case, a Web API client may not (the lower() index).
    return list(
        session.execute(
            select(*_PENDING_COLUMNS)
            .where(func.lower(D.engagement_config_id) == str(config_id), D.status == PENDING)
            .order_by(D.id)
            .with_for_update()
        )
    )


def lock_pending_of_tasks(session: Session, *, task_ids: Collection[uuid.UUID], skip_locked: bool) -> list[Row[Any]]:
    """The tasks' queued deliveries, locked in key order.

    `skip_locked` once the tasks are locked: a Pending row another transaction holds then is being claimed by the
    dialer (which locks it before the task), so waiting for it could deadlock; it becomes a dial in progress,
    which finishes normally, and the dialer schedules nothing after it for a cancelled task.
    """
    if not task_ids:
        return []
    return list(
        session.execute(
            select(*_PENDING_COLUMNS)
            .where(D.task_id.in_(sorted(task_ids)), D.status == PENDING)
            .order_by(D.id)
            .with_for_update(skip_locked=skip_locked)
        )
    )


def lock_tasks(session: Session, *, task_ids: Collection[uuid.UUID]) -> list[Row[Any]]:
    """The tasks (id, status), locked in key order."""
    if not task_ids:
        return []
    return list(
        session.execute(select(T.id, T.status).where(T.id.in_(sorted(task_ids))).order_by(T.id).with_for_update())
    )


def cancel_tasks(session: Session, *, task_ids: Collection[uuid.UUID], now: datetime) -> None:
    """The tasks end Cancelled: nothing is scheduled for them any more."""
    if task_ids:
        session.execute(
            update(T)
            .where(T.id.in_(sorted(task_ids)))
            .values(status=DeliveryStatus.CANCELLED, next_scheduled_at=None, modified_on=now, version=T.version + 1)
            .execution_options(synchronize_session=False)
        )


def update_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key: one executemany."""
    if rows:
        session.execute(update(D), rows)
