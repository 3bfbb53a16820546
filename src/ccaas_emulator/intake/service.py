"""The intake write: many checked commands of any action, authorized and persisted as one set of inserts.

The group committer hands `write` every request waiting at that moment; it looks each kind of row up once
for all of them, refuses a request (its error as its outcome) before writing anything for it, and inserts
each table's rows with one statement. Nothing here commits: the group committer does, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

from ccaas_emulator import collector
from ccaas_emulator.auth.callers import Caller, load_callers, require_omnichannel_role
from ccaas_emulator.auth.tokens import Principal
from ccaas_emulator.chain import Chain, ChainContact, ChainSettings, Dial, ordered_phones
from ccaas_emulator.chain import step_detail as chain_step_detail
from ccaas_emulator.clock import Clock, next_sequence
from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.db.rows import Author, attribute_rows, delivery_row
from ccaas_emulator.domain import AttributeType, Channel, DeliveryStatus, PhoneType
from ccaas_emulator.ids import new_uuid
from ccaas_emulator.intake import repository, rules
from ccaas_emulator.intake.commands import BulkCommand, Command, DeliveryCommand, Target
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, OBJECT_DOES_NOT_EXIST, DataverseError


@dataclass(frozen=True)
class Submission:
    """One request's work for the group committer: who calls, at what moment, and its command or refusal.

    A command that failed its check still comes here as its error: the caller's 403 goes first."""

    principal: Principal
    action: str
    command: Command | DataverseError
    clock: Clock
    """Read in the writer, not on the event loop: the shared clock may read the database."""


@dataclass(frozen=True)
class Writer:
    """Whom the rows are written as: a caller's system user, or the service itself (user_id None)."""

    user_id: uuid.UUID | None
    name: str
    """The name its journal entries carry."""
    on_behalf_by: uuid.UUID | None = None
    """The real caller's systemuserid when it impersonates `user_id` (createdonbehalfby)."""


FILE_UPLOAD = Writer(user_id=None, name="Run from file")
"""A file upload's rows: written by the Proactive Engagement service, as the dialer's are (docs/uploads.md)."""


@dataclass(frozen=True)
class Accepted:
    """What an intake action returns: the first delivery, the task when the action makes one, and a bulk
    action's request id (the tracking id of every delivery it made)."""

    delivery_id: uuid.UUID
    task_id: uuid.UUID | None = None
    request_id: str | None = None

    def response(self, fields: tuple[str, ...]) -> dict[str, str]:
        """The action's <Action>Response properties (the ones it declares, in its order)."""
        values = {"DeliveryId": self.delivery_id, "DeliveryTaskId": self.task_id, "RequestId": self.request_id}
        return {name: str(values[name]) for name in fields if values[name] is not None}


@dataclass
class _Staged:
    """One command's rows, kept only once every command of its request is known to be accepted."""

    accepted: Accepted
    task: dict[str, Any] | None
    contacts: list[Target]
    delivery: repository.NewDelivery
    attributes: list[dict[str, Any]]


def write(session: Session, submissions: Sequence[Submission]) -> list[Accepted | DataverseError]:
    """Authorize, then persist, every submission of the group; one outcome per submission, in order."""
    with collector.paused():  # a bulk call's rows: a few hundred thousand objects, none garbage before the write
        return _write(session, submissions)


def _write(session: Session, submissions: Sequence[Submission]) -> list[Accepted | DataverseError]:
    commands: list[tuple[int, Command, Caller]] = []
    outcomes: list[Accepted | DataverseError | None] = []
    for index, (submission, caller) in enumerate(zip(submissions, _authorize(session, submissions), strict=True)):
        if isinstance(caller, DataverseError):
            outcomes.append(caller)
        elif isinstance(submission.command, DataverseError):
            outcomes.append(submission.command)
        else:
            outcomes.append(None)
            commands.append((index, submission.command, caller))
    batch = _Batch(session, [single for _, command, _ in commands for single in _singles(command)])
    # The group's moment, read once per clock: its requests are committed together, and their rows then share one
    # timestamp, which the insert converts once (db/rows.py) instead of once per row.
    moments: dict[int, datetime] = {}
    for index, command, caller in commands:
        clock = submissions[index].clock
        now = moments.get(id(clock))
        if now is None:
            now = moments[id(clock)] = clock.now()
        outcomes[index] = batch.add(command, Writer(caller.user_id, caller.user_name, caller.on_behalf_by), now)
    batch.flush()
    return cast(list[Accepted | DataverseError], outcomes)  # every None was replaced by the loop above


def write_commands(
    session: Session, commands: Sequence[DeliveryCommand], *, writer: Writer, now: datetime
) -> list[Accepted | DataverseError]:
    """Persist commands already authorized (a file upload's accounts): one outcome per command, in order."""
    with collector.paused():
        batch = _Batch(session, commands)
        outcomes = [batch.add(command, writer, now) for command in commands]
        batch.flush()
    return outcomes


def _singles(command: Command) -> tuple[DeliveryCommand, ...]:
    return command.commands if isinstance(command, BulkCommand) else (command,)


def _authorize(session: Session, submissions: Sequence[Submission]) -> list[Caller | DataverseError]:
    """Each submission's caller, or the 403 it gets (before any problem with its parameters)."""
    callers = load_callers(session, principals={submission.principal for submission in submissions})
    authorized: list[Caller | DataverseError] = []
    for submission in submissions:
        caller = callers[submission.principal]
        if isinstance(caller, Caller):
            try:
                require_omnichannel_role(caller, action=submission.action)
            except DataverseError as exc:
                caller = exc
        authorized.append(caller)
    return authorized


class _Batch:
    """The rows of a group of commands: looked up once, refused one by one, inserted together."""

    def __init__(self, session: Session, commands: Sequence[DeliveryCommand]) -> None:
        self.session = session
        self.configs = repository.find_active_configs(session, config_ids={command.config_id for command in commands})
        self.planners = repository.planner_settings(
            session, config_ids={command.config_id for command in commands if command.task is not None}
        )
        self.existing_contacts = repository.existing_contacts(
            session,
            contact_ids={
                target.contact_id for command in commands for target in command.targets if target.details is None
            },
        )
        self.contacts: dict[uuid.UUID, dict[str, Any]] = {}
        self.tasks: list[dict[str, Any]] = []
        self.deliveries: list[repository.NewDelivery] = []
        self.attributes: list[dict[str, Any]] = []

    def add(self, command: Command, writer: Writer, now: datetime) -> Accepted | DataverseError:
        """Stage one request's rows, or return what refuses it (staging nothing): a bulk request is accepted
        whole or refused whole, by its first bad item."""
        staged = []
        for single in _singles(command):
            plan = self._plan(single, writer, now)
            if isinstance(plan, DataverseError):
                return plan
            staged.append(plan)
        for plan in staged:
            if plan.task is not None:
                self.tasks.append(plan.task)
            for target in plan.contacts:
                self._stage_contact(target, now)
            self.deliveries.append(plan.delivery)
            self.attributes.extend(plan.attributes)
        if isinstance(command, BulkCommand):
            return Accepted(staged[0].accepted.delivery_id, staged[0].accepted.task_id, command.request_id)
        return staged[0].accepted

    def _plan(self, command: DeliveryCommand, writer: Writer, now: datetime) -> _Staged | DataverseError:
        """One command's rows, or what refuses it."""
        try:
            config = self._config_for(command)
        except DataverseError as exc:
            return exc
        author = Author(user_id=writer.user_id, at=now, on_behalf_by=writer.on_behalf_by)
        task_id, first = None, None
        if command.task is not None:
            settings = self.planners[command.config_id]
            chain = _chain(command, settings, now)
            first = chain.first_dial(now)
            if first is None:
                return INVALID_ARGUMENT(
                    message="None of the contacts has a phone this engagement dials: its planner settings "
                    f"dial {', '.join(settings.phone_order)}."
                )
            task_id = new_uuid()
            task = _task_row(task_id, command, config, writer, now, chain, settings, first)
        else:
            task = None
        delivery_id = new_uuid()
        if first is not None:
            to_address, contact_id = first.phone.number, first.contact.contact_id
            windows, attributes = list(first.windows), dict(first.contact.attributes)
        else:  # 000_...: a contact's windows override the request's, which default to the next 24 hours.
            target = command.targets[0]
            to_address, contact_id = target.phones[0].number, str(target.contact_id)
            windows = list(target.windows or command.windows) or rules.default_windows(now)
            attributes = dict(target.attributes)
        row = delivery_row(
            delivery_id=delivery_id,
            config=config,
            to_address=to_address,
            contact_id=contact_id,
            windows=windows,
            author=author,
            tracking_id=command.task.request_id if command.task else None,
            task_id=task_id,
            request_priority=command.task.priority if command.task else None,
            priority_number=command.task.priority_number if command.task else None,
            sequence=next_sequence(),
            message=command.message,
        )
        detail = chain_step_detail(task_id, first) if task_id is not None and first is not None else None
        return _Staged(
            accepted=Accepted(delivery_id=delivery_id, task_id=task_id),
            task=task,
            contacts=[target for target in command.targets if target.details is not None],
            delivery=repository.NewDelivery(row, writer.name, detail),
            attributes=attribute_rows(
                delivery_id=delivery_id, attributes=attributes, kind=AttributeType.INPUT, author=author
            ),
        )

    def _config_for(self, command: DeliveryCommand) -> EngagementConfig:
        """The command's active configuration, once what depends on it holds (in the order Dataverse reports)."""
        config = self.configs.get(command.config_id)
        if config is None:
            raise OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_engagement_config", id=command.config_id)
        channel = config.outreach_type.channel
        if command.required_channel is not None and channel is not command.required_channel:
            raise INVALID_ARGUMENT(
                message=f"The proactive engagement configuration {command.config_id} is for "
                f"{config.outreach_type.label}; {command.action} needs a "
                f"{command.required_channel.value} configuration."
            )
        if command.task is not None and command.task.message is not None and channel is not Channel.SMS:
            raise INVALID_ARGUMENT(
                message="Message can be used only with an SMS proactive engagement configuration; "
                f"{command.config_id} is a {config.outreach_type.label} configuration."
            )
        rules.check_channel_phones([(target.where, list(target.phones)) for target in command.targets], channel=channel)
        for target in command.targets:
            if target.details is None and target.contact_id not in self.existing_contacts:
                raise OBJECT_DOES_NOT_EXIST(entity="contact", id=target.contact_id)
        return config

    def _stage_contact(self, target: Target, now: datetime) -> None:
        """A contact the request carries: created, or updated where it gives a value (a later mention wins)."""
        row = _contact_row(target, now)
        staged = self.contacts.get(target.contact_id)
        if staged is not None:  # as the upsert would: a value left out keeps the one given before
            row = staged | {key: value for key, value in row.items() if value is not None}
        self.contacts[target.contact_id] = row

    def flush(self) -> None:
        """Every staged row, one statement per table; contacts in key order, so concurrent upserts of the same
        contacts lock them in one order."""
        repository.upsert_contacts(
            self.session, rows=[self.contacts[key] for key in sorted(self.contacts, key=lambda key: key.int)]
        )
        repository.insert_tasks(self.session, rows=self.tasks)
        repository.insert_deliveries(self.session, deliveries=self.deliveries, attributes=self.attributes)


def _chain(command: DeliveryCommand, settings: ChainSettings, now: datetime) -> Chain:
    """The task's contacts in array order, each with its phones in the planner's order and its effective
    windows (its own, else the request's, else the 24 hours from now: 001_...)."""
    request_windows = tuple(command.windows) or tuple(rules.default_windows(now))
    return Chain(
        tuple(
            ChainContact(
                contact_id=str(target.contact_id),
                unique_identifier=target.unique_identifier,
                phones=ordered_phones(
                    [(phone.type, phone.number) for phone in target.phones if phone.type is not None],
                    settings.phone_order,
                ),
                windows=tuple(target.windows) or request_windows,
                attributes=dict(target.attributes),
                timezone=target.details.timezone if target.details else None,
            )
            for target in command.targets
        )
    )


def _task_row(
    task_id: uuid.UUID,
    command: DeliveryCommand,
    config: EngagementConfig,
    writer: Writer,
    now: datetime,
    chain: Chain,
    settings: ChainSettings,
    first: Dial,
) -> dict[str, Any]:
    """The delivery task: the contact chain the dialer works through, and the request it came from."""
    assert command.task is not None
    return {
        "id": task_id,
        "engagement_config_id": config.id,
        "channel": config.outreach_type.channel,
        "status": DeliveryStatus.PENDING,
        "request_id": command.task.request_id,
        "request_priority": command.task.priority,
        "message": command.task.message,
        "contacts": chain,
        "windows": [window.to_json() for window in command.windows],
        "settings": settings,
        "loop_number": first.position.loop,
        "contact_index": first.position.contact,
        "phone_index": first.position.phone,
        "retry_count": 0,
        "seq_no": 1,
        "next_scheduled_at": first.windows[0].start,
        "expiration_date": chain.expiration,
        "owner_id": writer.user_id,
        "created_on": now,
        "modified_on": now,
    }


def _contact_row(target: Target, now: datetime) -> dict[str, Any]:
    details = target.details
    assert details is not None
    phones = {phone.type: phone.number for phone in target.phones}
    return {
        "id": target.contact_id,
        "external_id": target.external_id,
        "first_name": details.first_name,
        "last_name": details.last_name,
        "full_name": _full_name(details.first_name, details.last_name),
        "mobile_phone": phones.get(PhoneType.MOBILE),
        "business_phone": phones.get(PhoneType.BUSINESS),
        "home_phone": phones.get(PhoneType.HOME),
        "email": details.email,
        "postal_code": details.postal_code,
        "state": details.state,
        "country": details.country,
        "address_line": details.address_line,
        "city": details.city,
        "created_on": now,
        "modified_on": now,
        "version": 1,
    }


def _full_name(first: str | None, last: str | None) -> str | None:
    """Dataverse's fullname, "First Last"; None (the stored one is kept) when the request gives no name."""
    names = [name for name in (first, last) if name]
    return " ".join(names) or None
