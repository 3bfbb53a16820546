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
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, OBJECT_DOES_NOT_EXIST, DataverseError

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


@dataclass(frozen=True)
class VoiceDelivery:
    """CCaaS_CreateProactiveVoiceDelivery's parameters once their values are checked (no database needed)."""

    config_id: uuid.UUID
    contact_id: uuid.UUID
    to_address: str
    windows: list[rules.Window]
    attributes: dict[str, str]


def check_voice_delivery(parameters: CreateProactiveVoiceDeliveryParameters) -> VoiceDelivery:
    """What the values must mean, in the order Dataverse reports them; raises the first problem."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    contact_id = rules.parse_guid(parameters.ContactId, parameter="ContactId")
    to_address = rules.require_phone_number(parameters.DestinationPhoneNumber, parameter="DestinationPhoneNumber")
    windows = rules.parse_windows(parameters.Windows, parameter="Windows")
    attributes = rules.parse_input_attributes(parameters.InputAttributes, parameter="InputAttributes")
    return VoiceDelivery(config_id, contact_id, to_address, windows, attributes)


def create_voice_delivery(
    session: Session, *, parameters: CreateProactiveVoiceDeliveryParameters, caller: Caller, now: datetime
) -> Accepted:
    """CCaaS_CreateProactiveVoiceDelivery: one Pending voice delivery with its input attributes."""
    outcome = write_voice_deliveries(session, [(check_voice_delivery(parameters), caller, now)])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def write_voice_deliveries(
    session: Session, requests: list[tuple[VoiceDelivery, Caller, datetime]]
) -> list[Accepted | DataverseError]:
    """Several voice deliveries in the open unit of work: one query per kind of look-up and one insert per
    table for all of them. A refused request (its error as its outcome) writes nothing."""
    configs = repository.find_active_configs(session, config_ids={request.config_id for request, *_ in requests})
    contacts = repository.existing_contacts(session, contact_ids={request.contact_id for request, *_ in requests})
    outcomes: list[Accepted | DataverseError] = []
    deliveries: list[tuple[dict[str, Any], str]] = []
    attribute_list: list[dict[str, Any]] = []
    for request, caller, now in requests:
        config = configs.get(request.config_id)
        if config is None:
            outcomes.append(OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_engagement_config", id=request.config_id))
            continue
        if config.outreach_type.channel is not Channel.VOICE:
            outcomes.append(
                INVALID_ARGUMENT(
                    message=f"The proactive engagement configuration {request.config_id} is for "
                    f"{config.outreach_type.label}; CCaaS_CreateProactiveVoiceDelivery needs a Voice configuration."
                )
            )
            continue
        if request.contact_id not in contacts:
            outcomes.append(OBJECT_DOES_NOT_EXIST(entity="contact", id=request.contact_id))
            continue
        author = Author(user_id=caller.user_id, at=now)
        delivery_id = uuid.uuid4()
        row = delivery_row(
            delivery_id=delivery_id,
            config=config,
            to_address=request.to_address,
            contact_id=str(request.contact_id),
            windows=request.windows or rules.default_windows(now),
            author=author,
        )
        deliveries.append((row, caller.user_name))
        attribute_list.extend(
            attribute_rows(
                delivery_id=delivery_id, attributes=request.attributes, kind=AttributeType.INPUT, author=author
            )
        )
        outcomes.append(Accepted(delivery_id=delivery_id))
    repository.insert_deliveries(session, deliveries=deliveries, attributes=attribute_list)
    return outcomes


def create_proactive_delivery(
    session: Session, *, parameters: CreateProactiveDeliveryParameters, caller: Caller, now: datetime
) -> Accepted:
    """CCaaS_CreateProactiveDelivery: the delivery task (the contact chain) and its first delivery."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
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
        contact_rows[contact_id] = _contact_row(contact, contact_id, external_id, now)  # a repeated contact: last wins
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
