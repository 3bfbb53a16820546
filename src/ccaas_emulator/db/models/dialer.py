"""The dialer's own tables: the shared clock, representative pools, scripted outcomes, the event journal."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import LabelType, UtcDateTime
from ccaas_emulator.domain import DeliveryResult, DeliveryStatus

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class ClockState(Base):
    """The one simulated clock every process reads: now = anchor + (real now - real anchor) x speed."""

    __tablename__ = "emulator_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anchor: Mapped[datetime] = mapped_column(UtcDateTime)
    real_anchor: Mapped[datetime] = mapped_column(UtcDateTime)
    speed: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)


class RepresentativePool(Base):
    """The simulated representatives of a queue, and the queue's dispatch bookkeeping."""

    __tablename__ = "emulator_queue"

    queue_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    representatives: Mapped[int] = mapped_column(Integer, default=5)
    average_handle_seconds: Mapped[int] = mapped_column(Integer, default=180)
    round_robin_cursor: Mapped[int] = mapped_column(Integer, default=0)


class EngagementPacing(Base):
    """Predictive dialling's state per engagement: the scale factor applied to the base rate."""

    __tablename__ = "emulator_pacing"

    engagement_config_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScriptedOutcome(Base):
    """An outcome a test scripted for a destination number: consumed one per dial, in order."""

    __tablename__ = "emulator_scripted_outcome"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    phone_number: Mapped[str] = mapped_column(String(300), index=True)
    result: Mapped[DeliveryResult] = mapped_column(LabelType(DeliveryResult, 100))
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    disposition_codes: Mapped[list[str] | None] = mapped_column(JSON)
    attributes: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)


class DeliveryEvent(Base):
    """The journal: one row per state change of a delivery."""

    __tablename__ = "emulator_delivery_event"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_status: Mapped[DeliveryStatus | None] = mapped_column(LabelType(DeliveryStatus, 100))
    to_status: Mapped[DeliveryStatus] = mapped_column(LabelType(DeliveryStatus, 100))
    result: Mapped[DeliveryResult | None] = mapped_column(LabelType(DeliveryResult, 100))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
