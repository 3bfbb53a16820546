"""msdyn_proactive_engagement_config: the engagement a delivery is made for (wire-facts B3)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import ChoiceType, UtcDateTime, bounds, lookup
from ccaas_emulator.domain import DialMode, EngagementPriority, OutreachType, ProcessingOrder, StateCode, StatusCode


class EngagementConfig(Base):
    """A proactive engagement configuration: channel, dial mode, priority, call order, capacity, queue."""

    __tablename__ = "msdyn_proactive_engagement_config"

    id: Mapped[uuid.UUID] = mapped_column("msdyn_proactive_engagement_configid", Uuid, primary_key=True)
    # ApplicationRequired in Dataverse: forms ask for them, the Web API lets them be null.
    name: Mapped[str | None] = mapped_column("msdyn_name", String(100))
    description: Mapped[str | None] = mapped_column("msdyn_description", String(200), default="")
    outreach_type: Mapped[OutreachType] = mapped_column("msdyn_type", ChoiceType(OutreachType))
    dial_mode: Mapped[DialMode] = mapped_column("msdyn_dialmode_type", ChoiceType(DialMode))
    priority: Mapped[EngagementPriority] = mapped_column("msdyn_priority", ChoiceType(EngagementPriority))
    processing_order: Mapped[ProcessingOrder] = mapped_column("msdyn_processing_order", ChoiceType(ProcessingOrder))
    # 002_...: at most 500 concurrent Copilot calls and 5 calls per representative.
    max_concurrent_calls: Mapped[int] = mapped_column(
        "msdyn_max_concurrent_calls", Integer, default=10, info=bounds(1, 500)
    )
    max_calls_per_agent: Mapped[int] = mapped_column("msdyn_max_calls_per_agent", Integer, default=1, info=bounds(1, 5))
    ignore_queue_hours: Mapped[bool] = mapped_column("msdyn_ignore_queue_hours", Boolean, default=False)
    queue_id: Mapped[uuid.UUID | None] = mapped_column("msdyn_queue", Uuid, info=lookup("queue"))
    workstream_id: Mapped[uuid.UUID | None] = mapped_column(
        "msdyn_workstream", Uuid, info=lookup("msdyn_liveworkstream")
    )
    state: Mapped[StateCode] = mapped_column("statecode", ChoiceType(StateCode), default=StateCode.ACTIVE)
    status_reason: Mapped[StatusCode] = mapped_column("statuscode", ChoiceType(StatusCode), default=StatusCode.ACTIVE)
    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column("modifiedon", UtcDateTime)
    owner_id: Mapped[uuid.UUID | None] = mapped_column("ownerid", Uuid, info=lookup("owner"))
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)
    # Emulator extension: the number calls come from. In a real org it belongs to the outbound
    # workstream's phone-number setup, which the emulator does not model as its own table.
    from_address: Mapped[str | None] = mapped_column("emulator_from_address", String(300))
    # Suspended engagements keep their deliveries Pending (set by CCaaS_CreateOperation once it exists).
    suspended: Mapped[bool] = mapped_column("emulator_suspended", Boolean, default=False, server_default=false())
