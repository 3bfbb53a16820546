"""The wire shape of CCaaS_GetDeliveryTasks (wire-facts A9): an expando collection of one task, key order as
documented, timestamps as yyyy-MM-ddTHH:mm:ss.fffZ."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ccaas_emulator.chain import ChainSettings
from ccaas_emulator.domain import format_timestamp
from ccaas_emulator.tasks.service import TaskView
from ccaas_emulator.wire.context import NAMESPACE, service_root

EXPANDO = f"#{NAMESPACE}.expando"


def expando_context(origin: str, version: str) -> str:
    """`<org>/api/data/<v>/$metadata#expando` (wire-facts A9, E8)."""
    return f"{service_root(origin, version)}$metadata#expando"


def _timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def delivery_tasks_body(view: TaskView, *, context: str, organization: uuid.UUID) -> dict[str, Any]:
    """The whole answer of CCaaS_GetDeliveryTasks for one task."""
    return {"@odata.context": context, "value": [task_json(view, organization=organization)]}


def task_json(view: TaskView, *, organization: uuid.UUID) -> dict[str, Any]:
    """One task as the expando the service returns, every documented field in the documented order."""
    task = view.task
    settings = task.settings or ChainSettings()
    return {
        "@odata.type": EXPANDO,
        "deliveryTaskId": str(task.id),
        "organizationId": str(organization),
        "status": str(task.status),
        "retryCount": task.retry_count,
        "maxRetryCount": settings.retries,
        "whenCreated": format_timestamp(task.created_on),
        "nextScheduledTime": _timestamp(task.next_scheduled_at),
        "lastAttemptedTime": _timestamp(task.last_attempted_at),
        "fallbackAttempted": task.fallback_attempted,
        "channelType": str(task.channel),
        "proactiveEngagementConfigId": str(task.engagement_config_id),
        "expirationDate": _timestamp(task.expiration_date),
        "reattemptDelay": settings.retry_delay_value,
        "reattemptSettings@odata.type": "#Collection(Int32)",
        "reattemptSettings": sorted(int(reason) for reason in settings.reasons),
        "contactIds@odata.type": "#Collection(String)",
        "contactIds": [contact.contact_id for contact in task.contacts.contacts],
        "requestId": task.request_id,
        "customerReached": task.customer_reached,
        "callbackAttemptCount": 0,  # callbacks are not emulated (docs/tasks.md)
        "contactChainingStatus": _chaining_status(view),
        "deliveries@odata.type": f"#Collection({NAMESPACE}.crmbaseentity)",
        "deliveries": [
            {
                "@odata.type": EXPANDO,
                "id": str(row.id),
                "status": str(row.status),
                "result": str(row.result) if row.result is not None else None,
            }
            for row in view.deliveries
        ],
    }


def _chaining_status(view: TaskView) -> dict[str, Any]:
    """Where the chain is: the dial made last (or scheduled next), with the chain's sizes (0-based indexes)."""
    task = view.task
    contacts = task.contacts.contacts
    contact = contacts[task.contact_index] if 0 <= task.contact_index < len(contacts) else None
    phones = contact.phones if contact is not None else ()
    phone = phones[task.phone_index] if 0 <= task.phone_index < len(phones) else None
    return {
        "@odata.type": EXPANDO,
        "currentLoopNumber": task.loop_number,
        "currentContactIndexAttempted": task.contact_index,
        "currentContactIdAttempted": contact.contact_id if contact is not None else None,
        "currentPhoneIndexAttempted": task.phone_index,
        "currentPhoneNumberTypeIdAttempted": str(phone.type) if phone is not None else None,
        "totalContactsInChain": len(contacts),
        "totalPhonesInCurrentContact": len(phones),
        "totalPhonesInChain": sum(len(item.phones) for item in contacts),
        "totalEligiblePhonesInChain": task.contacts.eligible_phones(),
        "totalEligiblePhonesInCurrentContact": sum(item.eligible for item in phones),
        "areLoopsExhausted": task.loops_exhausted,
        "isChainExhausted": task.chain_exhausted,
        "seqNo": task.seq_no,
        "lastDeliveryResult": str(task.last_result) if task.last_result is not None else None,
    }
