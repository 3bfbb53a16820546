"""Loading configurations (with their planner settings), quiet-time settings, contacts and users from a JSON seed
file (the demo seed is one such file)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccaas_emulator import quiet_hours
from ccaas_emulator.auth import directory
from ccaas_emulator.auth.passwords import MAX_SECRET_LENGTH
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.models import (
    CancellationPolicy,
    Contact,
    EngagementConfig,
    PlannerConfig,
    QuietTimeSetting,
    RepresentativePool,
    SystemUser,
)
from ccaas_emulator.db.models.planner import INT32_MAX
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import (
    ChoiceEnum,
    ContactDelayUnit,
    DialMode,
    EngagementPriority,
    OutreachType,
    PhoneDelayUnit,
    ProcessingOrder,
    ReattemptReason,
    RetryPriority,
    StateCode,
    WaitTimeUnit,
)

C = TypeVar("C", bound=ChoiceEnum)
PLANNER_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000004")
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Unit = Literal["Minutes", "Hours"]


def _choice(enum: type[C]) -> dict[str, C]:
    """The choice's members by the label a seed file names them with."""
    return {member.label: member for member in enum}


class _SeedModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SeedPlanner(_SeedModel):
    """The configuration's planner settings (msdyn_proactive_engagement_planner_config, wire-facts B4): its
    reattempts and contact chaining. The other columns of the table are set over the Web API."""

    id: uuid.UUID | None = None
    name: Annotated[str, Field(max_length=100)] | None = None
    reattemptRules: list[Literal["No Answer", "Busy", "Failed", "Answering Machine"]] = []
    numberOfRetries: Count = 0
    delayBetweenRetries: Count = 0
    waitTimeUnit: Unit = "Minutes"
    retryOnDispositionCodes: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^,]+$")]] = []
    retryPriority: Literal["Same as new deliveries", "Higher than new deliveries", "Lower than new deliveries"] = (
        "Same as new deliveries"
    )
    delayBetweenContacts: Count = 0
    delayBetweenContactsUnit: Unit = "Minutes"
    delayBetweenPhoneNumbers: Count = 0
    delayBetweenPhoneNumbersUnit: Unit = "Minutes"
    phoneTypePriority: list[Literal["MobilePhoneNumber", "BusinessPhoneNumber", "HomePhoneNumber"]] | None = None
    fallbackConfigurationId: uuid.UUID | None = None
    quietTimeMobilePhone: uuid.UUID | None = None
    quietTimeBusinessPhone: uuid.UUID | None = None
    quietTimeHomePhone: uuid.UUID | None = None
    active: bool = True

    @field_validator("retryOnDispositionCodes")
    @classmethod
    def _fits_the_column(cls, codes: list[str]) -> list[str]:
        if len(",".join(codes)) > 500:
            raise ValueError("the codes, comma-separated, must fit msdyn_retry_on_disposition_codes (500 characters)")
        return codes


class SeedConfiguration(_SeedModel):
    id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=200)] = ""
    channel: Literal["Voice", "SMS"] = "Voice"
    dialMode: Literal["Copilot", "Progressive", "Preview", "Predictive"] = "Copilot"
    priority: Literal["Critical", "High", "Normal"] = "Normal"
    processingOrder: Literal[
        "Earliest Scheduled Date",
        "First In First Out",
        "Last In First Out",
        "Custom priority ascending",
        "Custom priority descending",
    ] = "Earliest Scheduled Date"
    maxConcurrentCalls: Annotated[int, Field(ge=1, le=500)] = 10
    maxCallsPerAgent: Annotated[int, Field(ge=1, le=5)] = 1
    ignoreQueueHours: bool = False
    queueId: uuid.UUID | None = None
    workstreamId: uuid.UUID | None = None
    fromAddress: Annotated[str, Field(max_length=300)] | None = None
    active: bool = True
    suspended: bool = False
    planner: SeedPlanner | None = None


class SeedContact(_SeedModel):
    contactId: uuid.UUID
    firstName: Annotated[str, Field(max_length=50)] | None = None
    lastName: Annotated[str, Field(max_length=50)] | None = None
    mobilePhone: Annotated[str, Field(max_length=50)] | None = None
    businessPhone: Annotated[str, Field(max_length=50)] | None = None
    homePhone: Annotated[str, Field(max_length=50)] | None = None
    email: Annotated[str, Field(max_length=100)] | None = None


class SeedUser(_SeedModel):
    userName: Annotated[str, Field(min_length=1, max_length=200)]
    objectId: uuid.UUID
    fullName: Annotated[str, Field(max_length=200)] | None = None
    roles: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    disabled: bool = False
    password: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_LENGTH)] | None = None
    """Signs the user in at the emulator's authority (password grant); stored hashed."""


class SeedApplication(_SeedModel):
    """An application user: an app registration's client id and secret (stored hashed) and its security roles."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    clientId: uuid.UUID
    clientSecret: Annotated[str, Field(min_length=1, max_length=MAX_SECRET_LENGTH)]
    roles: list[Annotated[str, Field(min_length=1, max_length=100)]] = []


class SeedQueue(_SeedModel):
    queueId: uuid.UUID
    representatives: Annotated[int, Field(ge=0, le=10_000)] = 5
    averageHandleSeconds: Annotated[int, Field(ge=1, le=86_400)] = 180


class SeedPolicy(_SeedModel):
    """A cancellation policy (docs/control-api.md): AND-combined criteria, at least one."""

    id: uuid.UUID
    proactiveEngagementConfigId: uuid.UUID | None = None
    country: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    state: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    postalCode: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    executeUntil: AwareDatetime | None = None
    comment: Annotated[str, Field(max_length=1000)] | None = None

    @model_validator(mode="after")
    def _some_criterion(self) -> SeedPolicy:
        if not (self.proactiveEngagementConfigId or self.country or self.state or self.postalCode):
            raise ValueError("a cancellation policy needs proactiveEngagementConfigId, country, state or postalCode")
        return self


def _readable(parse: Callable[..., object], value: list[Any] | None, *, key: str | None) -> list[Any] | None:
    """A Memo column's list, refused (naming the seed key) when the Web API would refuse its text."""
    if value is not None:
        parse(json.dumps(value), column=key or "value")
    return value


class QuietTimeColumns(NamedTuple):
    """The Memo columns of a quiet-time setting, named as the table model names them (what quiet_hours.of reads)."""

    transactional_weekly_hours: str | None
    commercial_weekly_hours: str | None
    transactional_dates: str | None
    commercial_dates: str | None


class SeedQuietTime(_SeedModel):
    """A quiet-time setting (msdynmkt_quiettimesetting): its Memo columns as the JSON arrays they hold (quiet_hours.py),
    checked as the Web API checks them."""

    id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=100)]
    transactionalWeeklyHours: list[Any] | None = None
    commercialWeeklyHours: list[Any] | None = None
    transactionalDates: list[Any] | None = None
    commercialDates: list[Any] | None = None

    @field_validator("transactionalWeeklyHours", "commercialWeeklyHours")
    @classmethod
    def _weekly_hours(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        return _readable(quiet_hours.parse_weekly, value, key=info.field_name)

    @field_validator("transactionalDates", "commercialDates")
    @classmethod
    def _dates(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        return _readable(quiet_hours.parse_dates, value, key=info.field_name)

    def setting_columns(self) -> QuietTimeColumns:
        """The four Memo columns' text: each list as its JSON, an omitted one null."""
        return QuietTimeColumns(
            *(
                None if value is None else json.dumps(value)
                for value in (
                    self.transactionalWeeklyHours,
                    self.commercialWeeklyHours,
                    self.transactionalDates,
                    self.commercialDates,
                )
            )
        )


class SeedFile(_SeedModel):
    configurations: list[SeedConfiguration] = []
    quietTimes: list[SeedQuietTime] = []
    queues: list[SeedQueue] = []
    contacts: list[SeedContact] = []
    users: list[SeedUser] = []
    applications: list[SeedApplication] = []
    cancellationPolicies: list[SeedPolicy] = []


class SeedError(Exception):
    """The seed file cannot be read or does not have the documented shape."""


def read_seed_file(path: Path) -> SeedFile:
    try:
        return SeedFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()[:10]
        )
        raise SeedError(f"{path} is not a valid seed file: {problems}") from None


def demo_seed() -> SeedFile:
    text = resources.files("ccaas_emulator.seed").joinpath("demo.json").read_text(encoding="utf-8")
    return SeedFile.model_validate(json.loads(text))


def apply_demo_seed(database: Database, clock: Clock) -> None:
    """The demo rows, added only where missing: changes a user made to them survive restarts."""
    with database.transaction() as session:
        apply_seed(session, demo_seed(), clock=clock, overwrite=False)


def apply_seed(session: Session, seed: SeedFile, *, clock: Clock, overwrite: bool = True) -> dict[str, int]:
    """Insert (or, with overwrite, update) every configuration, planner setting, quiet-time setting, contact and user
    of the seed."""
    now = clock.now()
    counts = {
        "configurations": 0,
        "planners": 0,
        "quietTimes": 0,
        "queues": 0,
        "contacts": 0,
        "users": 0,
        "applications": 0,
        "cancellationPolicies": 0,
    }
    for quiet_entry in seed.quietTimes:
        if _apply_quiet_time(session, quiet_entry, now=now, overwrite=overwrite):
            counts["quietTimes"] += 1
    for config_entry in seed.configurations:
        if _apply_planner(session, config_entry, now=now, overwrite=overwrite):
            counts["planners"] += 1
        config = session.get(EngagementConfig, config_entry.id)
        if config is not None and not overwrite:
            continue
        if config is None:
            config = EngagementConfig(id=config_entry.id, created_on=now, version=0)
            session.add(config)
        config.name = config_entry.name
        config.description = config_entry.description
        config.outreach_type = _choice(OutreachType)[config_entry.channel]
        config.dial_mode = _choice(DialMode)[config_entry.dialMode]
        config.priority = _choice(EngagementPriority)[config_entry.priority]
        config.processing_order = _choice(ProcessingOrder)[config_entry.processingOrder]
        config.max_concurrent_calls = config_entry.maxConcurrentCalls
        config.max_calls_per_agent = config_entry.maxCallsPerAgent
        config.ignore_queue_hours = config_entry.ignoreQueueHours
        config.queue_id = config_entry.queueId
        config.workstream_id = config_entry.workstreamId
        config.from_address = config_entry.fromAddress
        config.suspended = config_entry.suspended
        config.state = StateCode.ACTIVE if config_entry.active else StateCode.INACTIVE
        config.status_reason = config.state.default_status
        config.modified_on = now
        config.version = (config.version or 0) + 1
        counts["configurations"] += 1
    for queue_entry in seed.queues:
        queue = session.get(RepresentativePool, queue_entry.queueId)
        if queue is not None and not overwrite:
            continue
        if queue is None:
            queue = RepresentativePool(queue_id=queue_entry.queueId)
            session.add(queue)
        queue.representatives = queue_entry.representatives
        queue.average_handle_seconds = queue_entry.averageHandleSeconds
        counts["queues"] += 1
    for contact_entry in seed.contacts:
        contact = session.get(Contact, contact_entry.contactId)
        if contact is not None and not overwrite:
            continue
        if contact is None:
            contact = Contact(id=contact_entry.contactId, created_on=now, version=0)
            session.add(contact)
        contact.first_name, contact.last_name = contact_entry.firstName, contact_entry.lastName
        contact.full_name = " ".join(part for part in (contact_entry.firstName, contact_entry.lastName) if part) or None
        contact.mobile_phone, contact.business_phone = contact_entry.mobilePhone, contact_entry.businessPhone
        contact.home_phone, contact.email = contact_entry.homePhone, contact_entry.email
        contact.modified_on = now
        contact.version = (contact.version or 0) + 1
        counts["contacts"] += 1
    for user_entry in seed.users:
        user = session.scalars(select(SystemUser).where(SystemUser.user_name == user_entry.userName)).one_or_none()
        if user is not None and not overwrite:
            continue
        user = directory.upsert_user(
            session,
            user_name=user_entry.userName,
            object_id=user_entry.objectId,
            full_name=user_entry.fullName,
            roles=user_entry.roles,
            disabled=user_entry.disabled,
            now=now,
        )
        if user_entry.password is not None:
            directory.set_secret(session, user, user_entry.password, now=now)
        counts["users"] += 1
    for app_entry in seed.applications:
        app = directory.find_application(session, app_entry.clientId)
        if app is not None and not overwrite:
            continue
        app = directory.upsert_user(
            session,
            user_name=app_entry.name,
            object_id=directory.service_principal_id(app_entry.clientId),
            full_name=app_entry.name,
            roles=app_entry.roles,
            application_id=app_entry.clientId,
            now=now,
        )
        directory.set_secret(session, app, app_entry.clientSecret, now=now)
        counts["applications"] += 1
    for policy_entry in seed.cancellationPolicies:
        policy = session.get(CancellationPolicy, policy_entry.id)
        if policy is not None and not overwrite:
            continue
        if policy is None:
            policy = CancellationPolicy(id=policy_entry.id, created_on=now)
            session.add(policy)
        policy.engagement_config_id = policy_entry.proactiveEngagementConfigId
        policy.country, policy.state = policy_entry.country, policy_entry.state
        policy.postal_code, policy.comment = policy_entry.postalCode, policy_entry.comment
        policy.execute_until = policy_entry.executeUntil
        counts["cancellationPolicies"] += 1
    session.flush()
    return counts


def _apply_planner(session: Session, config_entry: SeedConfiguration, *, now: datetime, overwrite: bool) -> bool:
    """The configuration's planner row, if the entry has settings: the row they name, else the engagement's own,
    else a new one. True when written."""
    entry, config_id = config_entry.planner, config_entry.id
    if entry is None:
        return False
    planner = session.get(PlannerConfig, entry.id) if entry.id is not None else _planner_of(session, config_id)
    if planner is not None and not overwrite:
        return False
    if planner is None:
        planner = PlannerConfig(id=entry.id or uuid.uuid5(PLANNER_NAMESPACE, str(config_id)), created_on=now, version=0)
        session.add(planner)
    planner.name = entry.name or config_entry.name
    planner.engagement_config_id = config_id
    planner.reattempt_rules = tuple(_choice(ReattemptReason)[label] for label in entry.reattemptRules)
    planner.number_of_retries = entry.numberOfRetries
    planner.delay_between_retries = entry.delayBetweenRetries
    planner.wait_time_unit = _choice(WaitTimeUnit)[entry.waitTimeUnit]
    planner.retry_on_disposition_codes = ",".join(entry.retryOnDispositionCodes) or None
    planner.retry_priority = _choice(RetryPriority)[entry.retryPriority]
    planner.delay_between_contacts = entry.delayBetweenContacts
    planner.delay_between_contacts_unit = _choice(ContactDelayUnit)[entry.delayBetweenContactsUnit]
    planner.delay_between_phone_numbers = entry.delayBetweenPhoneNumbers
    planner.delay_between_phone_numbers_unit = _choice(PhoneDelayUnit)[entry.delayBetweenPhoneNumbersUnit]
    planner.phone_type_priority = None if entry.phoneTypePriority is None else ",".join(entry.phoneTypePriority)
    planner.fallback_engagement_config_id = entry.fallbackConfigurationId
    planner.quiet_time_mobile_phone = entry.quietTimeMobilePhone
    planner.quiet_time_business_phone = entry.quietTimeBusinessPhone
    planner.quiet_time_home_phone = entry.quietTimeHomePhone
    planner.state = StateCode.ACTIVE if entry.active else StateCode.INACTIVE
    planner.status_reason = planner.state.default_status
    planner.modified_on = now
    planner.version = (planner.version or 0) + 1
    return True


def _apply_quiet_time(session: Session, entry: SeedQuietTime, *, now: datetime, overwrite: bool) -> bool:
    """The quiet-time setting of the entry, inserted or (with overwrite) replaced. True when written."""
    setting = session.get(QuietTimeSetting, entry.id)
    if setting is not None and not overwrite:
        return False
    if setting is None:
        setting = QuietTimeSetting(id=entry.id, created_on=now, version=0)
        session.add(setting)
    setting.name = entry.name
    columns = entry.setting_columns()
    setting.transactional_weekly_hours = columns.transactional_weekly_hours
    setting.commercial_weekly_hours = columns.commercial_weekly_hours
    setting.transactional_dates = columns.transactional_dates
    setting.commercial_dates = columns.commercial_dates
    setting.modified_on = now
    setting.version = (setting.version or 0) + 1
    return True


def _planner_of(session: Session, config_id: uuid.UUID) -> PlannerConfig | None:
    statement = (
        select(PlannerConfig)
        .where(PlannerConfig.engagement_config_id == config_id)
        .order_by(PlannerConfig.created_on, PlannerConfig.id)
        .limit(1)
    )
    return session.scalars(statement).first()
