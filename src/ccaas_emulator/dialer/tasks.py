"""After a dial of a delivery task ends: the task's next dial (a new Pending delivery) or its end.

The rules are chain.py's; this applies them inside the dispatcher's unit of work. Lock order: the ended
deliveries are already locked by the step that ended them, then the tasks are locked here, in id order (the
task APIs lock a task's deliveries before the task too, so no two transactions wait on each other in a
cycle).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ccaas_emulator import chain, journal
from ccaas_emulator.clock import next_sequence
from ccaas_emulator.db.models import DeliveryTask
from ccaas_emulator.db.rows import Author, attribute_rows, delivery_row
from ccaas_emulator.dialer import repository
from ccaas_emulator.domain import (
    NEW_DELIVERY_RANK,
    AttributeType,
    DeliveryResult,
    DeliveryStatus,
)
from ccaas_emulator.journal import StateChange

TERMINAL = frozenset({DeliveryStatus.COMPLETE, DeliveryStatus.EXPIRED, DeliveryStatus.CANCELLED, DeliveryStatus.ERROR})


@dataclass(frozen=True)
class EndedDial:
    """A dial of a task that just ended (its call finished, or its windows ran out undialled)."""

    delivery_id: uuid.UUID
    task_id: uuid.UUID
    result: DeliveryResult
    disposition_codes: tuple[str, ...]
    ended_at: datetime
    priority_number: float | None


def follow(session: Session, ended: Sequence[EndedDial], *, now: datetime, actor: str) -> int:
    """Move each ended dial's task on; returns how many new dials were scheduled."""
    if not ended:
        return 0
    tasks = repository.lock_tasks(session, task_ids={dial.task_id for dial in ended})
    configs = repository.configs_by_id(session, config_ids={task.engagement_config_id for task in tasks.values()})
    deliveries, attributes, changes = [], [], []
    for dial in sorted(ended, key=lambda item: (item.ended_at, str(item.delivery_id))):
        task = tasks.get(dial.task_id)
        if task is None:
            continue
        task.last_result = dial.result
        task.last_attempted_at = dial.ended_at
        task.modified_on = now
        task.version += 1
        if task.status in TERMINAL:  # cancelled while the call went on: nothing follows it
            continue
        step = chain.advance(
            task.contacts,
            task.settings,
            chain.Position(task.loop_number, task.contact_index, task.phone_index),
            chain.Outcome(dial.result, dial.disposition_codes, dial.ended_at),
            retry_wanted=task.retry_wanted,
        )
        task.contacts, task.retry_wanted = step.chain, step.retry_wanted
        if isinstance(step.next, chain.Finished):
            _finish(task, step.next, reached=step.reached)
            continue
        upcoming = step.next
        config = configs.get(task.engagement_config_id)
        if config is None:  # the configuration was deleted under the task: nothing can be dialled
            _finish(task, chain.Finished(DeliveryStatus.ERROR, reached=False, loops_exhausted=False), reached=False)
            continue
        delivery_id = uuid.uuid4()
        author = Author(user_id=task.owner_id, at=now)
        retry = upcoming.is_retry
        deliveries.append(
            delivery_row(
                delivery_id=delivery_id,
                config=config,
                to_address=upcoming.phone.number,
                contact_id=upcoming.contact.contact_id,
                windows=list(upcoming.windows),
                author=author,
                sequence=next_sequence(),
                tracking_id=task.request_id,
                task_id=task.id,
                request_priority=task.request_priority,
                priority_number=dial.priority_number,
                retry_rank=task.settings.retry_priority.rank if retry else NEW_DELIVERY_RANK,
            )
        )
        attributes += attribute_rows(
            delivery_id=delivery_id, attributes=upcoming.contact.attributes, kind=AttributeType.INPUT, author=author
        )
        changes.append(
            StateChange(
                delivery_id,
                now,
                None,
                DeliveryStatus.PENDING,
                None,
                chain.step_detail(task.id, upcoming, after=dial.delivery_id, after_result=dial.result),
            )
        )
        task.loop_number, task.contact_index, task.phone_index = (
            upcoming.position.loop,
            upcoming.position.contact,
            upcoming.position.phone,
        )
        task.retry_count = upcoming.position.loop - 1
        task.seq_no += 1
        task.next_scheduled_at = upcoming.windows[0].start
    repository.insert_deliveries(session, deliveries)
    repository.insert_attributes(session, attributes)
    journal.record(session, changes, actor=actor)
    return len(deliveries)


def _finish(task: DeliveryTask, end: chain.Finished, *, reached: bool) -> None:
    task.status = end.status
    task.customer_reached = reached
    task.loops_exhausted = end.loops_exhausted
    task.chain_exhausted = not reached
    task.next_scheduled_at = None
