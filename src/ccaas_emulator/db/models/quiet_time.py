"""msdynmkt_quiettimesetting: quiet times a planner names per phone type (Customer Insights - Journeys' table; its
documented columns: docs/history/2026-11-30-quiet-time-research.md). The text format of its Memo columns is not
published; the emulator's is in quiet_hours.py."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import ChoiceType, UtcDateTime, lookup
from ccaas_emulator.domain import QuietTimeZoneSource, StateCode, StatusCode

MEMO = 1_000_000
"""The Memo columns' documented MaxLength."""


class QuietTimeSetting(Base):
    """A quiet-time setting: weekly quiet hours and quiet dates, for transactional and commercial messages."""

    __tablename__ = "msdynmkt_quiettimesetting"

    id: Mapped[uuid.UUID] = mapped_column("msdynmkt_quiettimesettingid", Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column("msdynmkt_name", String(100))
    time_zone_source: Mapped[QuietTimeZoneSource | None] = mapped_column(
        "msdynmkt_timezonesource", ChoiceType(QuietTimeZoneSource)
    )
    commercial_weekly_hours: Mapped[str | None] = mapped_column("msdynmkt_commercialweeklyhours", String(MEMO))
    transactional_weekly_hours: Mapped[str | None] = mapped_column("msdynmkt_transactionalweeklyhours", String(MEMO))
    commercial_dates: Mapped[str | None] = mapped_column("msdynmkt_commercialdates", String(MEMO))
    transactional_dates: Mapped[str | None] = mapped_column("msdynmkt_transactionaldates", String(MEMO))
    advanced_quiet_times: Mapped[str | None] = mapped_column("msdynmkt_advancedquiettimes", String(MEMO))
    state: Mapped[StateCode] = mapped_column("statecode", ChoiceType(StateCode), default=StateCode.ACTIVE)
    status_reason: Mapped[StatusCode] = mapped_column("statuscode", ChoiceType(StatusCode), default=StatusCode.ACTIVE)
    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column("modifiedon", UtcDateTime)
    owner_id: Mapped[uuid.UUID | None] = mapped_column("ownerid", Uuid, info=lookup("owner"))
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)
    import_sequence_number: Mapped[int | None] = mapped_column("importsequencenumber", Integer)
