"""What the task APIs do, with no HTTP in it: read a task, cancel tasks and queued deliveries, suspend and resume
engagements. Nothing here commits; a refusal is a catalogued error raised before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from ccaas_emulator import journal
from ccaas_emulator.auth.callers import Caller, load_caller, require_omnichannel_role
from ccaas_emulator.auth.tokens import Principal
from ccaas_emulator.db.models import DeliveryTask
from ccaas_emulator.domain import DeliveryResult, DeliveryStatus
from ccaas_emulator.journal import StateChange
from ccaas_emulator.tasks import repository
from ccaas_emulator.tasks.parameters import Operation, OperationCommand
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, OBJECT_DOES_NOT_EXIST

ENDED = frozenset({DeliveryStatus.COMPLETE, DeliveryStatus.EXPIRED, DeliveryStatus.CANCELLED, DeliveryStatus.ERROR})
"""Task statuses after which nothing more is dialled."""
TASK_ENTITY = "ccaas_delivery_task"
DELIVERY_ENTITY = "msdyn_proactive_delivery"
CONFIG_ENTITY = "msdyn_proactive_engagement_config"


def authorize(session: Session, *, principal: Principal, operation: str) -> Caller:
    """The caller, if it may use the task APIs: as for the intake actions, an Omnichannel role (403 otherwise)."""
    caller = load_caller(session, principal=principal)
    require_omnichannel_role(caller, action=operation)
    return caller


@dataclass(frozen=True)
class TaskView:
    """A task and its dials, as CCaaS_GetDeliveryTasks shows them."""

    task: DeliveryTask
    deliveries: Sequence[Row[Any]]


def get_task(session: Session, *, task_id: uuid.UUID) -> TaskView:
    """The task with its deliveries; 404 when there is none."""
    task = repository.find_task(session, task_id=task_id)
    if task is None:
        raise OBJECT_DOES_NOT_EXIST(entity=TASK_ENTITY, id=task_id)
    return TaskView(task, repository.task_deliveries(session, task_id=task_id))


def cancel_task(session: Session, *, task_id: uuid.UUID, caller: Caller, now: datetime) -> None:
    """CCaaS_CancelDeliveryTask: the task and its queued dial end Cancelled; a dial in progress finishes.
    A task that already ended is left as it is (the call is idempotent); 404 when there is none."""
    pending = repository.lock_pending_of_tasks(session, task_ids=[task_id], skip_locked=False)
    tasks = repository.lock_tasks(session, task_ids=[task_id])
    if not tasks:
        raise OBJECT_DOES_NOT_EXIST(entity=TASK_ENTITY, id=task_id)
    if tasks[0].status in ENDED:
        return
    _cancel(session, pending, tasks, caller=caller, now=now, operation="CCaaS_CancelDeliveryTask")


def run_operation(session: Session, *, command: OperationCommand, caller: Caller, now: datetime) -> None:
    """CCaaS_CreateOperation: suspend or resume an engagement, or cancel queued deliveries (and their tasks)."""
    if command.operation is not Operation.CANCEL:
        assert command.config_id is not None  # parameters.check_operation
        suspended = command.operation is Operation.SUSPEND
        if not repository.set_suspended(session, config_id=command.config_id, suspended=suspended, now=now):
            raise OBJECT_DOES_NOT_EXIST(entity=CONFIG_ENTITY, id=command.config_id)
        return
    if command.config_id is not None and repository.find_config(session, config_id=command.config_id) is None:
        raise OBJECT_DOES_NOT_EXIST(entity=CONFIG_ENTITY, id=command.config_id)
    if command.delivery_id is not None:
        pending = [_queued_delivery(session, command.delivery_id, command.config_id)]
    else:
        assert command.config_id is not None
        pending = repository.lock_pending_of_engagement(session, config_id=command.config_id)
    tasks = repository.lock_tasks(session, task_ids={row.task_id for row in pending if row.task_id is not None})
    _cancel(session, pending, tasks, caller=caller, now=now, operation="CCaaS_CreateOperation Cancel")


def _queued_delivery(session: Session, delivery_id: uuid.UUID, config_id: uuid.UUID | None) -> Row[Any]:
    """The delivery to cancel, locked: it must exist (404), be queued and belong to the engagement named (400)."""
    row = repository.lock_delivery(session, delivery_id=delivery_id)
    if row is None:
        raise OBJECT_DOES_NOT_EXIST(entity=DELIVERY_ENTITY, id=delivery_id)
    if config_id is not None and row.engagement_config_id.lower() != str(config_id):
        raise INVALID_ARGUMENT(
            message=f"The delivery {delivery_id} belongs to the proactive engagement configuration "
            f"{row.engagement_config_id}, not to {config_id}."
        )
    if row.status is not DeliveryStatus.PENDING:
        raise INVALID_ARGUMENT(
            message=f"The delivery {delivery_id} is {row.status}; only a queued (Pending) delivery can be cancelled."
        )
    return row


def _cancel(
    session: Session,
    pending: Iterable[Row[Any]],
    tasks: Sequence[Row[Any]],
    *,
    caller: Caller,
    now: datetime,
    operation: str,
) -> None:
    """Cancel these locked Pending deliveries and these locked tasks that are still running, with the tasks' other
    queued deliveries; journal each delivery's change."""
    live = [task.id for task in tasks if task.status not in ENDED]
    deliveries = {row.id: row for row in pending}
    for row in repository.lock_pending_of_tasks(session, task_ids=live, skip_locked=True):
        deliveries.setdefault(row.id, row)
    repository.cancel_tasks(session, task_ids=live, now=now)
    cancelled = DeliveryStatus.CANCELLED
    rows = [deliveries[key] for key in sorted(deliveries)]
    repository.update_deliveries(
        session,
        [
            {
                "id": row.id,
                "status": cancelled,
                "result": DeliveryResult.CANCELLED,
                "result_date": now,
                "modified_on": now,
                "modified_by": caller.user_id,
                "modified_on_behalf_by": caller.on_behalf_by,
                "version": row.version + 1,
            }
            for row in rows
        ],
    )
    journal.record(
        session,
        [
            StateChange(row.id, now, DeliveryStatus.PENDING, cancelled, DeliveryResult.CANCELLED, {"by": operation})
            for row in rows
        ],
        actor=caller.user_name,
    )
