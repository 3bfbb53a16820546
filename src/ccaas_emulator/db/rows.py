"""New rows as the tables take them, and the statements that insert them.

One builder per kind of row, shared by every writer: the intake actions write deliveries and their Input
attributes, the dialer writes the Result attributes a call leaves behind. Rows are keyed by the models'
attribute names; insert_rows maps them to columns for Core (no ORM object per row).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.domain import NEW_DELIVERY_RANK, AttributeType, DeliveryStatus, Window


@dataclass(frozen=True)
class Author:
    """Who a row is written as (None: the service itself, as for a call's results), and when."""

    user_id: uuid.UUID | None
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
    sequence: int,
    tracking_id: str | None = None,
    task_id: uuid.UUID | None = None,
    request_priority: str | None = None,
    priority_number: float | None = None,
    retry_rank: int = NEW_DELIVERY_RANK,
    message: str | None = None,
) -> dict[str, Any]:
    """A Pending delivery: one dial (or one SMS) to one number, inside the given windows.

    `sequence` orders deliveries created at the same instant (clock.next_sequence); `priority_number` is the
    request's Priority as a number for custom call order (intake.rules.priority_number)."""
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
        "retry_rank": retry_rank,
        "task_id": task_id,
        "request_priority": request_priority,
        "priority_number": priority_number,
        "sequence": sequence,
        "message": message,
        **_system_columns(delivery_id, author),
    }


def attribute_rows(
    *, delivery_id: uuid.UUID, attributes: dict[str, str], kind: AttributeType, author: Author
) -> list[dict[str, Any]]:
    """One msdyn_proactive_delivery_attribute row per name/value pair (an Input or a Result)."""
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


def insert_for(dialect_name: str, table: Table | type[DeclarativeBase]) -> postgresql.Insert | sqlite.Insert:
    """INSERT with the dialect's ON CONFLICT clauses: the one place the two back ends' inserts differ."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_rows(
    session: Session, model: type[DeclarativeBase], rows: list[dict[str, Any]], *, statement: Insert | None = None
) -> None:
    """Rows keyed by attribute name, as one executemany through Core (no ORM objects); a plain INSERT unless
    another statement (an upsert) is given."""
    if rows:
        insert, columns = _insert(model)
        session.connection().execute(
            insert if statement is None else statement,
            [{columns[key]: value for key, value in row.items()} for row in rows],
        )


@cache
def _insert(model: type[DeclarativeBase]) -> tuple[Insert, dict[str, str]]:
    """The model's INSERT and its attribute -> column names, built once: building (and keying) a statement
    costs about as much as running it, and SQLAlchemy memoizes a statement object's cache key."""
    columns = {attribute.key: attribute.columns[0].name for attribute in model.__mapper__.column_attrs}
    return cast(Table, model.__table__).insert(), columns
