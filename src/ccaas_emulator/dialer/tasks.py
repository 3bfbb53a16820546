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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ccaas_emulator import chain, journal
from ccaas_emulator.clock import next_sequence
from ccaas_emulator.db.models import DeliveryTask, EngagementConfig
from ccaas_emulator.db.rows import Author, attribute_rows, delivery_row
from ccaas_emulator.dialer import repository
from ccaas_emulator.domain import (
    NEW_DELIVERY_RANK,
    AttributeType,
    Channel,
    DeliveryResult,
    DeliveryStatus,
    PhoneType,
    StateCode,
    Window,
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
    wanted = {task.engagement_config_id for task in tasks.values()}
    wanted |= {task.settings.fallback_config_id for task in tasks.values() if task.settings.fallback_config_id}
    configs = repository.configs_by_id(session, config_ids=wanted)
    deliveries: list[dict[str, Any]] = []
    attributes: list[dict[str, Any]] = []
    changes: list[StateChange] = []
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
            if step.next.status is DeliveryStatus.COMPLETE and not step.reached:
                deliveries += _fallback_sms(task, configs, now, attributes, changes)
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


def _fallback_sms(
    task: DeliveryTask,
    configs: dict[uuid.UUID, EngagementConfig],
    now: datetime,
    attributes: list[dict[str, Any]],
    changes: list[StateChange],
) -> list[dict[str, Any]]:
    """002_... "Follow up on SMS": a voice task whose attempts are exhausted without reaching anyone sends one SMS
    through the planner's fallback engagement, to the first contact with a mobile number, inside that contact's
    remaining windows (else the next 24 hours, as an action without windows), with the task's tracking id."""
    config = configs.get(task.settings.fallback_config_id) if task.settings.fallback_config_id else None
    if task.channel is not Channel.VOICE or config is None:
        return []
    if config.state is not StateCode.ACTIVE or config.outreach_type.channel is not Channel.SMS:
        return []  # a fallback that is not an active SMS engagement sends nothing (fallbackAttempted stays false)
    target = next(
        ((contact, phone) for contact in task.contacts.contacts for phone in contact.phones
         if phone.type is PhoneType.MOBILE),
        None,
    )  # fmt: skip
    if target is None:
        return []
    contact, phone = target
    windows = list(chain.clip(contact.windows, now)) or [Window(now, now + timedelta(hours=24))]
    delivery_id = uuid.uuid4()
    author = Author(user_id=task.owner_id, at=now)
    task.fallback_attempted = True
    attributes += attribute_rows(delivery_id=delivery_id, attributes=contact.attributes, kind=AttributeType.INPUT,
                                 author=author)  # fmt: skip
    detail = {"deliveryTaskId": str(task.id), "fallback": True, "contactId": contact.contact_id}
    changes.append(StateChange(delivery_id, now, None, DeliveryStatus.PENDING, None, detail))
    row = delivery_row(delivery_id=delivery_id, config=config, to_address=phone.number, contact_id=contact.contact_id,
                       windows=windows, author=author, sequence=next_sequence(), tracking_id=task.request_id,
                       task_id=task.id, request_priority=task.request_priority)  # fmt: skip
    return [row]


def _finish(task: DeliveryTask, end: chain.Finished, *, reached: bool) -> None:
    task.status = end.status
    task.customer_reached = reached
    task.loops_exhausted = end.loops_exhausted
    task.chain_exhausted = not reached
    task.next_scheduled_at = None
