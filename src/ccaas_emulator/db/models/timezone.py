"""timezonedefinition: Dynamics' list of time zones, read-only, filled by migration 0005 from timezones.csv."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base


class TimeZoneDefinition(Base):
    """One time zone of the org (wire-facts D): its code, Windows id and display name."""

    __tablename__ = "timezonedefinition"

    id: Mapped[uuid.UUID] = mapped_column("timezonedefinitionid", Uuid, primary_key=True)
    code: Mapped[int] = mapped_column("timezonecode", Integer, unique=True)
    standard_name: Mapped[str] = mapped_column("standardname", String(100))
    display_name: Mapped[str] = mapped_column("userinterfacename", String(100))
    bias: Mapped[int] = mapped_column("bias", Integer)
    retired_order: Mapped[int] = mapped_column("retiredorder", Integer, default=0)
    """0 for the definition in force, as every row here is."""
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)
