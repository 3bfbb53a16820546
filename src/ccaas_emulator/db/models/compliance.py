"""Who may not be contacted: opt-outs (consent) and cancellation policies (issue #14 items 6-7; wire-facts C4).

Neither is a documented Dataverse table the emulator could copy: consent lives in the real service's compliance
profile (PES) and cancellation policies in the admin centre. Both are the emulator's, read and written through
the control API (/emulator/v1) and seed files.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import UtcDateTime


class OptOut(Base):
    """A phone number or a contact that said no: checked before every dial and every SMS."""

    __tablename__ = "emulator_opt_out"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    phone_number: Mapped[str | None] = mapped_column(String(300), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(100))
    """What opted out: an SMS reply STOP, a Do not contact disposition, an OptOutReceived SMS result."""
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    """The delivery whose outcome opted out, if one did."""
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)


class CancellationPolicy(Base):
    """002_... "Configure call cancellation and suppression": AND-combined criteria, in force until a date."""

    __tablename__ = "emulator_cancellation_policy"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    engagement_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    country: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    execute_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)
