"""The delivery task: one per CCaaS_CreateProactiveDelivery request, owning the contact chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import LabelType, UtcDateTime
from ccaas_emulator.domain import Channel, DeliveryStatus


class DeliveryTask(Base):
    """The ordered contacts (with phones, windows, attributes) and the counters of one request.

    Not a documented Dataverse table: the real service keeps it inside Proactive Engagement and shows it
    through CCaaS_GetDeliveryTasks (wire-facts A9). Each dial of the chain is its own delivery row.
    """

    __tablename__ = "ccaas_delivery_task"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    engagement_config_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    channel: Mapped[Channel] = mapped_column(LabelType(Channel, 100))
    status: Mapped[DeliveryStatus] = mapped_column(LabelType(DeliveryStatus, 100))
    request_id: Mapped[str | None] = mapped_column(String(400))
    request_priority: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(String(4000))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The chain: [{contactId, uniqueIdentifier, timezone, phones: [{type, number}], windows, attributes}]."""
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The request's top-level windows (a contact's own windows override them)."""
    loop_number: Mapped[int] = mapped_column(Integer, default=1)
    contact_index: Mapped[int] = mapped_column(Integer, default=0)
    phone_index: Mapped[int] = mapped_column(Integer, default=0)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
