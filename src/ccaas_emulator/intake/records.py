"""Row builders for a new delivery and its attributes: shared by the intake actions and, later, the dialer."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.domain import AttributeType, DeliveryStatus, Window
from ccaas_emulator.intake.rules import parse_timestamp
from ccaas_emulator.wire.errors import DataverseError


@dataclass(frozen=True)
class Author:
    """Who a row is written as, and when."""

    user_id: uuid.UUID
    at: datetime


def _system_columns(row_id: uuid.UUID, author: Author) -> dict[str, Any]:
    return {
        "created_on": author.at,
        "modified_on": author.at,
        "created_by": author.user_id,
        "modified_by": author.user_id,
        "owner_id": author.user_id,
        "owning_user": author.user_id,
        "owner_type": "systemuser",
        "version": 1,
        "partition_id": str(row_id),  # elastic tables: the primary key when none is given (wire-facts B5)
    }


def delivery_row(
    *,
    delivery_id: uuid.UUID,
    config: EngagementConfig,
    to_address: str,
    contact_id: str,
    windows: list[Window],
    author: Author,
    tracking_id: str | None = None,
    task_id: uuid.UUID | None = None,
    request_priority: str | None = None,
) -> dict[str, Any]:
    """A Pending delivery: one dial (or one SMS) to one number, inside the given windows."""
    first, last = windows[0], max(windows, key=lambda window: window.end)
    return {
        "id": delivery_id,
        "delivery_id": str(delivery_id),
        "status": DeliveryStatus.PENDING,
        "channel": config.outreach_type.channel,
        "dial_mode": config.dial_mode,
        "engagement_config_id": str(config.id),
        "to_address": to_address,
        "from_address": config.from_address,
        "contact_id": contact_id,
        "tracking_id": tracking_id,
        "window_start_date": first.start,
        "window_end_date": first.end,
        "earliest_schedule_date": first.start,
        "expiration_date": last.end,
        "windows": windows,
        "task_id": task_id,
        "request_priority": request_priority,
        "priority_number": priority_number(request_priority),
        "sequence": time.time_ns(),
        **_system_columns(delivery_id, author),
    }


def priority_number(priority: str | None) -> float | None:
    """The request's Priority for custom call order: a number, or a date (as its timestamp); else None,
    which orders the delivery first in, first out after the valid ones (002_...: custom priority)."""
    if priority is None or not priority.strip():
        return None
    try:
        number = float(priority)
    except ValueError:
        try:
            return parse_timestamp(priority, parameter="Priority").timestamp()
        except DataverseError:
            return None
    return number if math.isfinite(number) else None


def attribute_rows(
    *, delivery_id: uuid.UUID, attributes: dict[str, str], kind: AttributeType, author: Author
) -> list[dict[str, Any]]:
    """One msdyn_proactive_delivery_attribute row per name/value pair."""
    rows = []
    for keyword, value in attributes.items():
        row_id = uuid.uuid4()
        rows.append(
            {
                "id": row_id,
                "delivery_id": delivery_id,
                "keyword": keyword,
                "value": value,
                "type": kind,
                **_system_columns(row_id, author),
            }
        )
    return rows
