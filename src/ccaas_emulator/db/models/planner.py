"""msdyn_proactive_engagement_planner_config: an engagement's reattempts, contact chaining, phone order,
frequency limits and time zones (wire-facts B4; its generated entity reference lists every column here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, Select, String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import ChoiceType, MultiChoiceType, UtcDateTime, bounds, lookup
from ccaas_emulator.domain import (
    CallerIdPolicy,
    ContactDelayUnit,
    IntegrationType,
    PhoneDelayUnit,
    ReattemptReason,
    RetryPriority,
    StateCode,
    StatusCode,
    TimeZoneHandling,
    WaitTimeUnit,
)

INT32_MAX = 2_147_483_647
CONFIG = "msdyn_proactive_engagement_config"
QUIET_TIME = "msdynmkt_quiettimesetting"


def _count(name: str) -> Mapped[int | None]:
    """A whole-number column documented as MinValue 0, MaxValue 2147483647."""
    return mapped_column(name, Integer, info=bounds(0, INT32_MAX))


class PlannerConfig(Base):
    """The planner settings of one proactive engagement (through msdyn_proactive_engagement_config_id).

    A standard, user-owned table. An engagement without an active planner row gets no reattempts, dials each
    contact's phones mobile, business, home with no delays, and has no frequency limits.
    """

    __tablename__ = "msdyn_proactive_engagement_planner_config"

    id: Mapped[uuid.UUID] = mapped_column("msdyn_proactive_engagement_planner_configid", Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column("msdyn_name", String(100))
    engagement_config_id: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_proactive_engagement_config_id",
        Uuid,
        info=lookup(CONFIG, navigation="msdyn_proactive_engagement_config_id"),
    )

    # Reattempts (002_... "Reattempts").
    reattempt_rules: Mapped[tuple[ReattemptReason, ...]] = mapped_column(
        "msdyn_reattempt_rules", MultiChoiceType(ReattemptReason), nullable=True
    )
    number_of_retries: Mapped[int | None] = _count("msdyn_number_of_retries")
    delay_between_retries: Mapped[int | None] = _count("msdyn_delay_between_retries")
    wait_time_unit: Mapped[WaitTimeUnit | None] = mapped_column("msdyn_wait_time_unit", ChoiceType(WaitTimeUnit))
    retry_on_disposition_codes: Mapped[str | None] = mapped_column("msdyn_retry_on_disposition_codes", String(500))
    # Not a documented column (the UI's "Priority" of retries has none): the emulator's, shown on the Web API.
    retry_priority: Mapped[RetryPriority | None] = mapped_column(
        "emulator_retry_priority", ChoiceType(RetryPriority), info={"web_api": True}
    )
    fallback_engagement_config_id: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_fallback_engagement_config_id",
        Uuid,
        info=lookup(CONFIG, navigation="msdyn_fallback_engagement_config_id"),
    )

    # Contact chaining (002_... "Configure multiparty (account) engagements").
    delay_between_contacts: Mapped[int | None] = _count("msdyn_delay_between_contacts")
    delay_between_contacts_unit: Mapped[ContactDelayUnit | None] = mapped_column(
        "msdyn_delay_between_contacts_unit", ChoiceType(ContactDelayUnit)
    )
    delay_between_phone_numbers: Mapped[int | None] = _count("msdyn_delay_between_phone_numbers")
    delay_between_phone_numbers_unit: Mapped[PhoneDelayUnit | None] = mapped_column(
        "msdyn_delay_between_phone_numbers_unit", ChoiceType(PhoneDelayUnit)
    )
    phone_type_priority: Mapped[str | None] = mapped_column("msdyn_comm_phone_type_priority", String(100))

    # Frequency limits and time zones (stored; enforced by the dialer once quiet hours and caps land).
    frequency_limit_enabled: Mapped[bool] = mapped_column("msdyn_comm_frequency_limit_enabled", Boolean, default=False)
    frequency_global_limit_respected: Mapped[bool] = mapped_column(
        "msdyn_comm_frequency_global_limit_respected", Boolean, default=False
    )
    max_frequency_per_day: Mapped[int | None] = _count("msdyn_comm_max_frequency_per_day")
    max_frequency_per_week: Mapped[int | None] = _count("msdyn_comm_max_frequency_per_week")
    max_frequency_per_month: Mapped[int | None] = _count("msdyn_comm_max_frequency_per_month")
    max_phone_frequency_per_day: Mapped[int | None] = _count("msdyn_comm_max_phone_frequency_per_day")
    max_phone_frequency_per_week: Mapped[int | None] = _count("msdyn_comm_max_phone_frequency_per_week")
    max_phone_frequency_per_month: Mapped[int | None] = _count("msdyn_comm_max_phone_frequency_per_month")
    max_task_frequency_per_day: Mapped[int | None] = _count("msdyn_comm_max_deliverytask_frequency_per_day")
    max_task_frequency_per_week: Mapped[int | None] = _count("msdyn_comm_max_deliverytask_frequency_per_week")
    max_task_frequency_per_month: Mapped[int | None] = _count("msdyn_comm_max_deliverytask_frequency_per_month")
    time_zone_handling: Mapped[TimeZoneHandling | None] = mapped_column(
        "msdyn_comm_time_zone_handling", ChoiceType(TimeZoneHandling)
    )
    default_timezone: Mapped[str | None] = mapped_column("msdyn_comm_default_timezone", String(300))
    timezone_inference_enabled: Mapped[bool] = mapped_column(
        "msdyn_comm_timezone_inference_enabled", Boolean, default=False
    )
    quiet_time_mobile_phone: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_comm_quiet_time_setting_mobile_phone",
        Uuid,
        info=lookup(QUIET_TIME, navigation="msdyn_comm_quiet_time_setting_mobile_phone"),
    )
    quiet_time_business_phone: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_comm_quiet_time_setting_business_phone",
        Uuid,
        info=lookup(QUIET_TIME, navigation="msdyn_comm_quiet_time_setting_business_phone"),
    )
    quiet_time_home_phone: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_comm_quiet_time_setting_home_phone",
        Uuid,
        info=lookup(QUIET_TIME, navigation="msdyn_comm_quiet_time_setting_home_phone"),
    )

    # The rest of the documented writable columns.
    callerid_policy_type: Mapped[CallerIdPolicy | None] = mapped_column(
        "msdyn_callerid_policy_type", ChoiceType(CallerIdPolicy)
    )
    integration_type: Mapped[IntegrationType | None] = mapped_column(
        "msdyn_integration_type", ChoiceType(IntegrationType)
    )
    external_contact_id_column_name: Mapped[str | None] = mapped_column(
        "msdyn_external_contact_id_column_name", String(100)
    )
    message_template_id: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_proactive_engagement_message_templateid",
        Uuid,
        info=lookup("msdyn_proactive_engagement_message_template"),
    )

    state: Mapped[StateCode] = mapped_column("statecode", ChoiceType(StateCode), default=StateCode.ACTIVE)
    status_reason: Mapped[StatusCode] = mapped_column("statuscode", ChoiceType(StatusCode), default=StatusCode.ACTIVE)
    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column("modifiedon", UtcDateTime)
    owner_id: Mapped[uuid.UUID | None] = mapped_column("ownerid", Uuid, info=lookup("owner"))
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)

    __table_args__ = (Index("ix_planner_config_engagement", "msdyn_proactive_engagement_config_id"),)


def applicable_planners(config_ids: Iterable[uuid.UUID]) -> Select[PlannerConfig]:
    """The planner settings that apply to these engagements, the applicable one first for each: an engagement's
    active rows, the first created winning when there are several (Dataverse enforces no one-per-engagement rule)."""
    return (
        select(PlannerConfig)
        .where(PlannerConfig.engagement_config_id.in_(list(config_ids)), PlannerConfig.state == StateCode.ACTIVE)
        .order_by(PlannerConfig.created_on, PlannerConfig.id)
    )
