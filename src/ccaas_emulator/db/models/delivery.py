"""msdyn_proactive_delivery and msdyn_proactive_delivery_attribute (wire-facts B1, B2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import NOT_IN_WEB_API, ChoiceType, LabelType, UtcDateTime, WindowList, lookup
from ccaas_emulator.domain import AttributeType, Channel, DeliveryResult, DeliveryStatus, DialMode, Window


class OwnedRecordColumns:
    """System columns every user-owned Dataverse row carries."""

    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column("modifiedon", UtcDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        "createdby", Uuid, info=lookup("systemuser", navigation="createdby")
    )
    modified_by: Mapped[uuid.UUID | None] = mapped_column(
        "modifiedby", Uuid, info=lookup("systemuser", navigation="modifiedby")
    )
    created_on_behalf_by: Mapped[uuid.UUID | None] = mapped_column(
        "createdonbehalfby", Uuid, info=lookup("systemuser", navigation="createdonbehalfby")
    )
    modified_on_behalf_by: Mapped[uuid.UUID | None] = mapped_column(
        "modifiedonbehalfby", Uuid, info=lookup("systemuser", navigation="modifiedonbehalfby")
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column("ownerid", Uuid, info=lookup("owner"))
    owner_type: Mapped[str] = mapped_column("owneridtype", String(64), default="systemuser", info=NOT_IN_WEB_API)
    owning_business_unit: Mapped[uuid.UUID | None] = mapped_column(
        "owningbusinessunit", Uuid, info=lookup("businessunit")
    )
    owning_user: Mapped[uuid.UUID | None] = mapped_column(
        "owninguser", Uuid, info=lookup("systemuser", navigation="owninguser")
    )
    owning_team: Mapped[uuid.UUID | None] = mapped_column("owningteam", Uuid, info=lookup("team"))
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)
    import_sequence_number: Mapped[int | None] = mapped_column("importsequencenumber", Integer)
    overridden_created_on: Mapped[datetime | None] = mapped_column("overriddencreatedon", UtcDateTime)
    # Elastic tables: partitionid defaults to the primary key; ttlinseconds auto-expires (B5).
    partition_id: Mapped[str | None] = mapped_column("partitionid", String(100))
    ttl_seconds: Mapped[int | None] = mapped_column("ttlinseconds", Integer)


class ProactiveDelivery(OwnedRecordColumns, Base):
    """One dial (or one SMS) of a proactive engagement: what the service accepted and what happened."""

    __tablename__ = "msdyn_proactive_delivery"

    id: Mapped[uuid.UUID] = mapped_column("msdyn_proactive_deliveryid", Uuid, primary_key=True)
    delivery_id: Mapped[str] = mapped_column("msdyn_delivery_id", String(850))
    batch_id: Mapped[str | None] = mapped_column("msdyn_batch_id", String(100))
    call_id: Mapped[str | None] = mapped_column("msdyn_call_id", String(100))
    channel: Mapped[Channel | None] = mapped_column("msdyn_channel", LabelType(Channel, 100))
    channel_sent_date: Mapped[datetime | None] = mapped_column("msdyn_channel_sent_date", UtcDateTime)
    contact_id: Mapped[str | None] = mapped_column("msdyn_contact_id", String(100))
    conversation_id: Mapped[str | None] = mapped_column("msdyn_conversation_id", String(100))
    # The configuration's dial mode, stored by its label ("Progressive") where the configuration stores the number.
    dial_mode: Mapped[DialMode] = mapped_column("msdyn_dialmode_type", LabelType(DialMode, 100))
    disposition_codes: Mapped[str | None] = mapped_column("msdyn_disposition_codes", String(1000))
    earliest_schedule_date: Mapped[datetime | None] = mapped_column("msdyn_earliest_schedule_date", UtcDateTime)
    end_date: Mapped[datetime | None] = mapped_column("msdyn_end_date", UtcDateTime)
    expiration_date: Mapped[datetime | None] = mapped_column("msdyn_expiration_date", UtcDateTime)
    from_address: Mapped[str | None] = mapped_column("msdyn_from_address", String(300))
    journey_id: Mapped[str | None] = mapped_column("msdyn_journey_id", String(100))
    journey_run_id: Mapped[str | None] = mapped_column("msdyn_journey_run_id", String(100))
    parent_conversation_id: Mapped[str | None] = mapped_column("msdyn_parent_conversation_id", String(100))
    engagement_config_id: Mapped[str] = mapped_column("msdyn_proactive_engagement_config_id", String(100))
    queue_id: Mapped[str | None] = mapped_column("msdyn_queue_id", String(100))
    result: Mapped[DeliveryResult | None] = mapped_column("msdyn_result", LabelType(DeliveryResult, 100))
    result_date: Mapped[datetime | None] = mapped_column("msdyn_result_date", UtcDateTime)
    start_date: Mapped[datetime | None] = mapped_column("msdyn_start_date", UtcDateTime)
    status: Mapped[DeliveryStatus] = mapped_column("msdyn_status", LabelType(DeliveryStatus, 100))
    to_address: Mapped[str] = mapped_column("msdyn_to_address", String(300))
    tracking_id: Mapped[str | None] = mapped_column("msdyn_tracking_id", String(400))
    window_start_date: Mapped[datetime | None] = mapped_column("msdyn_window_start_date", UtcDateTime)
    window_end_date: Mapped[datetime | None] = mapped_column("msdyn_window_end_date", UtcDateTime)

    # Emulator bookkeeping, not Dataverse columns: every window the dial may use (the msdyn_window_*
    # columns show only the current one), the task that owns the contact chain, the request's priority.
    windows: Mapped[list[Window]] = mapped_column("emulator_windows", WindowList)
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        "emulator_task_id", ForeignKey("ccaas_delivery_task.id", ondelete="CASCADE")
    )
    request_priority: Mapped[str | None] = mapped_column("emulator_request_priority", String(100))
    # Reattempts queue before, among or after new deliveries (RetryPriority.rank); new deliveries are 1.
    retry_rank: Mapped[int] = mapped_column("emulator_retry_rank", SmallInteger, default=1, server_default="1")
    # Order of acceptance (nanoseconds of real time): FIFO/LIFO tie-break when createdon is equal.
    sequence: Mapped[int] = mapped_column("emulator_sequence", BigInteger, default=0, server_default="0")
    # The request's Priority as a number, for custom call order; None when missing or not a number.
    priority_number: Mapped[float | None] = mapped_column("emulator_priority_number", Float)
    # The text of a first-generation SMS (CCaaS_CreateProactiveSMSDelivery), which has no task to hold it.
    message: Mapped[str | None] = mapped_column("emulator_message", String(4000))
    # The dialer's state of a call in progress: its planned outcome (decided once, when it is dialled,
    # so that no worker ever dials it again), when it ends, and which worker holds it until when.
    call_plan: Mapped[dict[str, Any] | None] = mapped_column("emulator_call_plan", JSON)
    call_ends_at: Mapped[datetime | None] = mapped_column("emulator_call_ends_at", UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column("emulator_lease_owner", String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column("emulator_lease_expires_at", UtcDateTime)

    attributes: Mapped[list[DeliveryAttribute]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_msdyn_proactive_delivery_status_window", "msdyn_status", "msdyn_window_start_date"),
        Index("ix_msdyn_proactive_delivery_config", "msdyn_proactive_engagement_config_id"),
        Index("ix_msdyn_proactive_delivery_createdon", "createdon"),
        Index("ix_msdyn_proactive_delivery_task", "emulator_task_id"),
        # The dialer's claims: due deliveries of one engagement in each call order, calls that end, windows
        # that close.
        Index(
            "ix_delivery_claim_created",
            "msdyn_proactive_engagement_config_id",
            "msdyn_status",
            "createdon",
            "emulator_sequence",
        ),
        # Each claim index carries its whole ORDER BY, so a claim reads the first rows instead of sorting
        # every due row of the engagement.
        Index(
            "ix_delivery_claim_window_end",
            "msdyn_proactive_engagement_config_id",
            "msdyn_status",
            "msdyn_window_end_date",
            "createdon",
            "emulator_sequence",
        ),
        Index(
            "ix_delivery_claim_priority",
            "msdyn_proactive_engagement_config_id",
            "msdyn_status",
            "emulator_priority_number",
            "createdon",
            "emulator_sequence",
        ),
        # Frequency limits count a contact's dials and SMS of the last days (dialer/repository.engagement_times).
        Index("ix_delivery_contact_started", "msdyn_contact_id", "msdyn_start_date"),
        Index("ix_delivery_call_ends", "msdyn_status", "emulator_call_ends_at"),
        Index("ix_delivery_window_end", "msdyn_status", "msdyn_window_end_date"),
    )


class DeliveryAttribute(OwnedRecordColumns, Base):
    """A name/value pair of a delivery: an input the caller sent, or a result the call produced."""

    __tablename__ = "msdyn_proactive_delivery_attribute"

    id: Mapped[uuid.UUID] = mapped_column("msdyn_proactive_delivery_attributeid", Uuid, primary_key=True)
    keyword: Mapped[str] = mapped_column("msdyn_keyword", String(850))
    value: Mapped[str] = mapped_column("msdyn_value", String(4000))
    type: Mapped[AttributeType] = mapped_column("msdyn_type", ChoiceType(AttributeType))
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        "msdyn_proactive_delivery",
        ForeignKey("msdyn_proactive_delivery.msdyn_proactive_deliveryid", ondelete="CASCADE"),
        index=True,
        info=lookup("msdyn_proactive_delivery", navigation="msdyn_proactive_delivery"),
    )

    delivery: Mapped[ProactiveDelivery] = relationship(back_populates="attributes")


# The Web API compares strings without regard to case (lower() on both sides), and pages in primary-key
# order; these serve `$filter=msdyn_status eq '…'` and `…config_id eq '…'` straight from the index.
Index(
    "ix_delivery_odata_status",
    func.lower(ProactiveDelivery.status),
    ProactiveDelivery.id,
)
Index(
    "ix_delivery_odata_config",
    func.lower(ProactiveDelivery.engagement_config_id),
    ProactiveDelivery.id,
)
# What users look a delivery up by: the number called, and their own RequestId (msdyn_tracking_id). Without
# these a `$filter` on either read every row (64 ms at 25,000 deliveries, growing with the table: the soak).
Index(
    "ix_delivery_odata_to_address",
    func.lower(ProactiveDelivery.to_address),
    ProactiveDelivery.id,
)
Index(
    "ix_delivery_odata_tracking",
    func.lower(ProactiveDelivery.tracking_id),
    ProactiveDelivery.id,
)
