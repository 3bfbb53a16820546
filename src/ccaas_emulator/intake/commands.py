"""The intake actions' requests once checked: typed commands, and the pure checks that make them.

Every action takes the same path (pipeline.py): its wire body is bound to its parameters (schemas.py), a check
here turns those into one `DeliveryCommand` or raises the first catalogued error, and one set-based write
(service.py) persists many commands at once. A check needs no database, so it runs on the event loop; what
needs the database (does the configuration exist, which channel is it, does the contact exist) is checked
by the write, in the order Dataverse reports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ccaas_emulator.domain import Channel, Window
from ccaas_emulator.intake import rules
from ccaas_emulator.intake.rules import ContactDetails, ContactRequest, Phone
from ccaas_emulator.intake.schemas import (
    CreateProactiveDeliveryParameters,
    CreateProactiveVoiceDeliveryParameters,
)


@dataclass(frozen=True)
class Target:
    """Whom one link of a delivery's chain reaches: a contact, its numbers in dialling order, when, and with what.

    `details` is None when the action names an existing contact by its id (it must exist); otherwise the
    action carries the contact itself, which is created or updated (the engagement's unique identifier).
    """

    contact_id: uuid.UUID
    phones: tuple[Phone, ...]
    windows: tuple[Window, ...]
    attributes: Mapping[str, str]
    unique_identifier: str
    details: ContactDetails | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class TaskOptions:
    """What makes a delivery a task (CCaaS_CreateProactiveDelivery): the caller's tracking id, priority and text."""

    request_id: str | None
    priority: str | None
    priority_number: float | None
    message: str | None


@dataclass(frozen=True)
class DeliveryCommand:
    """One checked request of any intake action: deliver to these targets through this engagement."""

    action: str
    config_id: uuid.UUID
    targets: tuple[Target, ...]
    windows: tuple[Window, ...]
    """The request's own windows; a target's windows override them, and none at all means the next 24 hours."""
    required_channel: Channel | None = None
    """The channel the action is for (CCaaS_CreateProactiveVoiceDelivery: Voice); None takes either."""
    task: TaskOptions | None = None


def target_for(contact: ContactRequest) -> Target:
    """A contact the request carries, as the target it becomes: created or updated by its unique identifier."""
    contact_id, external_id = rules.contact_id_for(contact.unique_identifier)
    return Target(
        contact_id=contact_id,
        phones=tuple(contact.phones),
        windows=tuple(contact.windows),
        attributes=contact.attributes,
        unique_identifier=contact.unique_identifier,
        details=contact.details,
        external_id=external_id,
    )


def check_voice_delivery(parameters: CreateProactiveVoiceDeliveryParameters) -> DeliveryCommand:
    """CCaaS_CreateProactiveVoiceDelivery (000_...): one existing contact, one number; raises the first problem."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    contact_id = rules.parse_guid(parameters.ContactId, parameter="ContactId")
    number = rules.require_phone_number(parameters.DestinationPhoneNumber, parameter="DestinationPhoneNumber")
    windows = rules.parse_windows(parameters.Windows, parameter="Windows")
    attributes = rules.parse_input_attributes(parameters.InputAttributes, parameter="InputAttributes")
    target = Target(
        contact_id=contact_id,
        phones=(Phone(None, number),),
        windows=tuple(windows),
        attributes=attributes,
        unique_identifier=str(contact_id),
    )
    return DeliveryCommand(
        action=parameters.action,
        config_id=config_id,
        targets=(target,),
        windows=(),
        required_channel=Channel.VOICE,
    )


def check_proactive_delivery(parameters: CreateProactiveDeliveryParameters) -> DeliveryCommand:
    """CCaaS_CreateProactiveDelivery (001_...): a task of 1 to 5 chained contacts; raises the first problem."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    rules.check_length(
        parameters.RequestId,
        attribute="msdyn_tracking_id",
        entity="msdyn_proactive_delivery",
        limit=rules.TRACKING_ID_LIMIT,
    )
    rules.check_length(
        parameters.Priority, attribute="priority", entity="msdyn_proactive_delivery", limit=rules.PRIORITY_LIMIT
    )
    rules.check_length(
        parameters.Message, attribute="message", entity="msdyn_proactive_delivery", limit=rules.MESSAGE_LIMIT
    )
    windows = rules.parse_windows(parameters.Windows, parameter="Windows")
    contacts = rules.parse_contacts(parameters.Contacts)
    return DeliveryCommand(
        action=parameters.action,
        config_id=config_id,
        targets=tuple(target_for(contact) for contact in contacts),
        windows=tuple(windows),
        task=TaskOptions(
            request_id=parameters.RequestId,
            priority=parameters.Priority,
            priority_number=rules.priority_number(parameters.Priority),
            message=parameters.Message,
        ),
    )
