"""The intake actions' behaviour, with no HTTP in it: validate, look up, write one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ccaas_emulator.auth.callers import Caller
from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.domain import AttributeType, Channel, DeliveryStatus
from ccaas_emulator.intake import repository, rules
from ccaas_emulator.intake.records import Author, attribute_rows, delivery_row
from ccaas_emulator.intake.schemas import (
    CreateProactiveDeliveryParameters,
    CreateProactiveVoiceDeliveryParameters,
)
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, OBJECT_DOES_NOT_EXIST

CONTACT_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000001")


@dataclass(frozen=True)
class Accepted:
    """What an intake action returns: the first delivery, and the task when the action makes one."""

    delivery_id: uuid.UUID
    task_id: uuid.UUID | None = None


def contact_id_for(unique_identifier: str) -> tuple[uuid.UUID, str | None]:
    """(contactid, external id): the identifier is the contactid when it is a GUID (the engagement's
    default unique identifier); otherwise it is an external system's id, mapped to a stable contactid."""
    try:
        return uuid.UUID(unique_identifier), None
    except ValueError:
        return uuid.uuid5(CONTACT_NAMESPACE, unique_identifier), unique_identifier


def _active_config(session: Session, config_id: uuid.UUID) -> EngagementConfig:
    config = repository.find_active_config(session, config_id=config_id)
    if config is None:
        raise OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_engagement_config", id=config_id)
    return config


def create_voice_delivery(
    session: Session, *, parameters: CreateProactiveVoiceDeliveryParameters, caller: Caller, now: datetime
) -> Accepted:
    """CCaaS_CreateProactiveVoiceDelivery: one Pending voice delivery with its input attributes."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(
        parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId"
    )
    contact_id = rules.parse_guid(parameters.ContactId, parameter="ContactId")
    to_address = rules.require_phone_number(
        parameters.DestinationPhoneNumber, parameter="DestinationPhoneNumber"
    )
    windows = rules.parse_windows(parameters.Windows, parameter="Windows") or rules.default_windows(now)
    attributes = rules.parse_input_attributes(parameters.InputAttributes, parameter="InputAttributes")

    config = _active_config(session, config_id)
    if config.outreach_type.channel is not Channel.VOICE:
        raise INVALID_ARGUMENT(
            message=f"The proactive engagement configuration {config_id} is for {config.outreach_type.label}; "
            "CCaaS_CreateProactiveVoiceDelivery needs a Voice configuration."
        )
    if not repository.contact_exists(session, contact_id=contact_id):
        raise OBJECT_DOES_NOT_EXIST(entity="contact", id=contact_id)

    author = Author(user_id=caller.user_id, at=now)
    delivery_id = uuid.uuid4()
    repository.insert_delivery(
        session,
        row=delivery_row(
            delivery_id=delivery_id,
            config=config,
            to_address=to_address,
            contact_id=str(contact_id),
            windows=windows,
            author=author,
        ),
        attributes=attribute_rows(
            delivery_id=delivery_id, attributes=attributes, kind=AttributeType.INPUT, author=author
        ),
        actor=caller.user_name,
    )
    return Accepted(delivery_id=delivery_id)


def create_proactive_delivery(
    session: Session, *, parameters: CreateProactiveDeliveryParameters, caller: Caller, now: datetime
) -> Accepted:
    """CCaaS_CreateProactiveDelivery: the delivery task (the contact chain) and its first delivery."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(
        parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId"
    )
    rules.check_length(
        parameters.RequestId,
        attribute="msdyn_tracking_id",
        entity="msdyn_proactive_delivery",
        limit=rules.TRACKING_ID_LIMIT,
    )
    rules.check_length(
        parameters.Priority,
        attribute="priority",
        entity="msdyn_proactive_delivery",
        limit=rules.PRIORITY_LIMIT,
    )
    rules.check_length(
        parameters.Message, attribute="message", entity="msdyn_proactive_delivery", limit=rules.MESSAGE_LIMIT
    )
    top_windows = rules.parse_windows(parameters.Windows, parameter="Windows")

    config = _active_config(session, config_id)
    channel = config.outreach_type.channel
    if parameters.Message is not None and channel is not Channel.SMS:
        raise INVALID_ARGUMENT(
            message="Message can be used only with an SMS proactive engagement configuration; "
            f"{config_id} is a {config.outreach_type.label} configuration."
        )
    contacts = rules.parse_contacts(parameters.Contacts, channel=channel)

    author = Author(user_id=caller.user_id, at=now)
    default = rules.default_windows(now)
    chain: list[dict[str, Any]] = []
    contact_rows: dict[uuid.UUID, dict[str, Any]] = {}
    for contact in contacts:
        contact_id, external_id = contact_id_for(contact.unique_identifier)
        contact_rows[contact_id] = _contact_row(
            contact, contact_id, external_id, now
        )  # a repeated contact: last wins
        chain.append(
            {
                "contactId": str(contact_id),
                "uniqueIdentifier": contact.unique_identifier,
                "timezone": contact.timezone,
                "phones": [{"type": phone.type.value, "number": phone.number} for phone in contact.phones],
                "windows": [window.to_json() for window in contact.windows],
                "attributes": contact.attributes,
            }
        )
    repository.upsert_contacts(session, rows=list(contact_rows.values()))

    task_id = uuid.uuid4()
    repository.insert_task(
        session,
        row={
            "id": task_id,
            "engagement_config_id": config.id,
            "channel": channel.value,
            "status": DeliveryStatus.PENDING.value,
            "request_id": parameters.RequestId,
            "request_priority": parameters.Priority,
            "message": parameters.Message,
            "contacts": chain,
            "windows": [window.to_json() for window in top_windows],
            "owner_id": caller.user_id,
            "created_on": now,
            "modified_on": now,
        },
    )

    first = contacts[0]
    delivery_id = uuid.uuid4()
    repository.insert_delivery(
        session,
        row=delivery_row(
            delivery_id=delivery_id,
            config=config,
            to_address=first.phones[0].number,
            contact_id=chain[0]["contactId"],
            # 001_...: contact-level windows override the top-level ones, which default to now + 24 h.
            windows=first.windows or top_windows or default,
            author=author,
            tracking_id=parameters.RequestId,
            task_id=task_id,
            request_priority=parameters.Priority,
        ),
        attributes=attribute_rows(
            delivery_id=delivery_id, attributes=first.attributes, kind=AttributeType.INPUT, author=author
        ),
        actor=caller.user_name,
    )
    return Accepted(delivery_id=delivery_id, task_id=task_id)


def _contact_row(
    contact: rules.ContactRequest, contact_id: uuid.UUID, external_id: str | None, now: datetime
) -> dict[str, Any]:
    phones = {phone.type.value: phone.number for phone in contact.phones}
    return {
        "id": contact_id,
        "external_id": external_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": f"{contact.first_name} {contact.last_name}",
        "mobile_phone": phones.get("MobilePhoneNumber"),
        "business_phone": phones.get("BusinessPhoneNumber"),
        "home_phone": phones.get("HomePhoneNumber"),
        "email": contact.email,
        "postal_code": contact.postal_code,
        "state": contact.state,
        "country": contact.country,
        "address_line": contact.address_line,
        "city": contact.city,
        "created_on": now,
        "modified_on": now,
        "version": 1,
    }
