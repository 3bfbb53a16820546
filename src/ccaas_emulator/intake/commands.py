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

from ccaas_emulator.domain import Channel, PhoneType, Window
from ccaas_emulator.intake import rules
from ccaas_emulator.intake.rules import ContactDetails, ContactRequest, Phone
from ccaas_emulator.intake.schemas import (
    CreateProactiveBulkDeliveryParameters,
    CreateProactiveDeliveryBulkV2Parameters,
    CreateProactiveDeliveryParameters,
    CreateProactiveSMSDeliveryParameters,
    CreateProactiveVoiceDeliveryParameters,
    CreateSimpleProactiveDeliveryParameters,
)
from ccaas_emulator.wire.errors import INVALID_ARGUMENT


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
    where: str = ""
    """Where the request carries the contact, as its errors name it ("Contacts[0]"; "" for flat parameters)."""


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
    message: str | None = None
    """The text of a first-generation SMS (CCaaS_CreateProactiveSMSDelivery), which has no task to hold it."""


@dataclass(frozen=True)
class BulkCommand:
    """A bulk action's request: one single-contact command per item, all accepted or all refused together."""

    action: str
    request_id: str
    """The caller's RequestId, else a new GUID: every delivery's tracking id, answered back."""
    commands: tuple[DeliveryCommand, ...]


Command = DeliveryCommand | BulkCommand


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
    targets = [target_for(contact, where=f"Contacts[{index}]") for index, contact in enumerate(contacts)]
    return DeliveryCommand(
        action=parameters.action,
        config_id=config_id,
        targets=tuple(targets),
        windows=tuple(windows),
        task=TaskOptions(
            request_id=parameters.RequestId,
            priority=parameters.Priority,
            priority_number=rules.priority_number(parameters.Priority),
            message=parameters.Message,
        ),
    )


def check_simple_delivery(parameters: CreateSimpleProactiveDeliveryParameters) -> DeliveryCommand:
    """CCaaS_CreateSimpleProactiveDelivery (wire-facts A4): a task for one contact given as flat parameters."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    rules.check_length(
        parameters.Priority, attribute="priority", entity="msdyn_proactive_delivery", limit=rules.PRIORITY_LIMIT
    )
    contact = rules.parse_contact(parameters.contact_fields(), where="", require_mobile=True)
    windows = rules.parse_windows(parameters.Windows, parameter="Windows")
    attributes = rules.parse_input_attributes(parameters.InputAttributes, parameter="InputAttributes")
    return DeliveryCommand(
        action=parameters.action,
        config_id=config_id,
        targets=(target_for(contact, where="", attributes=attributes),),
        windows=tuple(windows),
        task=TaskOptions(
            request_id=None,
            priority=parameters.Priority,
            priority_number=rules.priority_number(parameters.Priority),
            message=None,
        ),
    )


def check_sms_delivery(parameters: CreateProactiveSMSDeliveryParameters) -> DeliveryCommand:
    """CCaaS_CreateProactiveSMSDelivery (wire-facts A6): one text to one number, SMS configurations only, first
    generation (no task: no reattempts, windows, priority or frequency capping). The request names no contact,
    so the number is the contact's unique identifier (docs/choices.md)."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    number = rules.require_phone_number(parameters.DestinationPhoneNumber, parameter="DestinationPhoneNumber")
    rules.check_length(number, attribute="mobilephone", entity="contact", limit=50)
    if not parameters.Message.strip():
        raise INVALID_ARGUMENT(message="Message must not be empty.")
    rules.check_length(
        parameters.Message, attribute="message", entity="msdyn_proactive_delivery", limit=rules.MESSAGE_LIMIT
    )
    attributes = rules.parse_input_attributes(parameters.InputAttributes, parameter="InputAttributes")
    contact_id, external_id = rules.contact_id_for(number)
    target = Target(
        contact_id=contact_id,
        phones=(Phone(PhoneType.MOBILE, number),),
        windows=(),
        attributes=attributes,
        unique_identifier=number,
        details=ContactDetails(first_name=None, last_name=None),
        external_id=external_id,
        where="DestinationPhoneNumber",
    )
    return DeliveryCommand(
        action=parameters.action,
        config_id=config_id,
        targets=(target,),
        windows=(),
        required_channel=Channel.SMS,
        message=parameters.Message,
    )


def check_bulk_delivery(
    parameters: CreateProactiveBulkDeliveryParameters | CreateProactiveDeliveryBulkV2Parameters,
) -> BulkCommand:
    """CCaaS_CreateProactiveBulkDelivery / ...BulkV2 (wire-facts A5): a task per item; the first bad item
    refuses the whole call (docs/wire.md), so nothing of it is stored."""
    rules.require_api_version(parameters.ApiVersion)
    config_id = rules.parse_guid(parameters.ProactiveEngagementConfigId, parameter="ProactiveEngagementConfigId")
    rules.check_length(
        parameters.RequestId,
        attribute="msdyn_tracking_id",
        entity="msdyn_proactive_delivery",
        limit=rules.TRACKING_ID_LIMIT,
    )
    engagements = getattr(parameters, "ProactiveEngagements", None)
    if engagements is not None and engagements.strip():
        raise INVALID_ARGUMENT(
            message='ProactiveEngagements is not supported: its content is not documented. Send it empty ("") '
            "or leave it out."
        )
    contacts = rules.parse_bulk_deliveries(parameters.ProactiveDeliveries, parameter="ProactiveDeliveries")
    request_id = (parameters.RequestId or "").strip() or str(uuid.uuid4())
    task = TaskOptions(request_id=request_id, priority=None, priority_number=None, message=None)
    commands = tuple(
        DeliveryCommand(
            action=parameters.action,
            config_id=config_id,
            targets=(target_for(contact, where=f"ProactiveDeliveries[{index}]"),),
            windows=(),
            task=task,
        )
        for index, contact in enumerate(contacts)
    )
    return BulkCommand(action=parameters.action, request_id=request_id, commands=commands)


def target_for(contact: ContactRequest, *, where: str, attributes: Mapping[str, str] | None = None) -> Target:
    """A contact the request (or a file row) carries: upserted by its unique identifier, dialled at its phones;
    `where` names it in errors found once the configuration is known."""
    contact_id, external_id = rules.contact_id_for(contact.unique_identifier)
    return Target(
        contact_id=contact_id,
        phones=tuple(contact.phones),
        windows=tuple(contact.windows),
        attributes=contact.attributes if attributes is None else attributes,
        unique_identifier=contact.unique_identifier,
        details=contact.details,
        external_id=external_id,
        where=where,
    )
