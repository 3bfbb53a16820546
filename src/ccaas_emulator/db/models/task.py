"""The delivery task: one per CCaaS_CreateProactiveDelivery request, owning the contact chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.chain import Chain, ChainSettings
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import ChainSettingsType, ChainType, LabelType, UtcDateTime
from ccaas_emulator.domain import Channel, DeliveryResult, DeliveryStatus


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
    contacts: Mapped[Chain] = mapped_column(ChainType)
    """The chain: each contact with its phones in dialling order (and whether each is still dialled), its
    effective windows and its input attributes (chain.py)."""
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The request's top-level windows, as sent (each contact's effective windows are in `contacts`)."""
    settings: Mapped[ChainSettings] = mapped_column(ChainSettingsType, nullable=True)
    """The engagement's planner settings when the task was created: reattempts, delays, phone order."""
    # Where the chain is: the dial made last (or scheduled next), 1-based loop, 0-based indexes.
    loop_number: Mapped[int] = mapped_column(Integer, default=1)
    contact_index: Mapped[int] = mapped_column(Integer, default=0)
    phone_index: Mapped[int] = mapped_column(Integer, default=0)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    seq_no: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """Dials scheduled so far (the first is made with the task)."""
    retry_wanted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Some dial of the current loop ended with a reason chosen for reattempt."""
    customer_reached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    loops_exhausted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    chain_exhausted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    fallback_attempted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_result: Mapped[DeliveryResult | None] = mapped_column(LabelType(DeliveryResult, 100))
    last_attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expiration_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
