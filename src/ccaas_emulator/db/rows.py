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

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.domain import NEW_DELIVERY_RANK, AttributeType, DeliveryStatus, Window
from ccaas_emulator.ids import new_uuid


@dataclass(frozen=True)
class Author:
    """Who a row is written as (None: the service itself, as for a call's results), and when."""

    user_id: uuid.UUID | None
    at: datetime
    on_behalf_by: uuid.UUID | None = None
    """The real caller when a user impersonates another (createdonbehalfby / modifiedonbehalfby)."""


def _system_columns(row_id: uuid.UUID, author: Author) -> dict[str, Any]:
    return {
        "created_on": author.at,
        "modified_on": author.at,
        "created_by": author.user_id,
        "modified_by": author.user_id,
        "created_on_behalf_by": author.on_behalf_by,
        "modified_on_behalf_by": author.on_behalf_by,
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
        row_id = new_uuid()
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
    """Rows keyed by attribute name, as one executemany (no ORM objects); a plain INSERT unless another statement
    (an upsert) is given.

    Many rows of the same keys (a bulk action's 15,000 contacts) go to the driver directly: the statement is
    compiled once per (statement, keys, dialect) and each value passes only through its column type's bind
    processor, which is what Core would do per row at several times the cost (docs/benchmarks.md). Anything
    else (rows of differing keys, columns whose Python-side defaults Core would fill in) takes Core's path."""
    if not rows:
        return
    insert, columns = _insert(model)
    connection = session.connection()
    chosen = insert if statement is None else statement
    keys = tuple(rows[0])
    plan = _driver_plan(chosen, connection.dialect, tuple(columns[key] for key in keys))
    if plan is None or any(len(row) != len(keys) or tuple(row) != keys for row in rows):
        connection.execute(chosen, [{columns[key]: value for key, value in row.items()} for row in rows])
        return
    sql, slots = plan
    row_values = [tuple(row.values()) for row in rows]
    ordered = slots if isinstance(slots, tuple) else tuple(slots.values())
    # Column by column: a value shared by many rows (the group's moment, a configuration, a status, a user) is the
    # same object in consecutive rows, and is processed once: bind processors are Python (microseconds each).
    processed = [_column(row_values, slot) for slot in ordered]
    if statement is None and connection.dialect.name == "postgresql" and isinstance(slots, dict) and len(rows) > 1:
        # A plain insert on PostgreSQL: COPY, one round trip for all the rows instead of one statement per row.
        _copy(connection, cast(Table, model.__table__).name, tuple(slots), processed)
        return
    if isinstance(slots, tuple):  # positional paramstyle (SQLite): one tuple per row
        prepared: list[Any] = list(zip(*processed, strict=True))
    else:  # named paramstyle (psycopg): one dict per row
        names = tuple(slots)
        prepared = [dict(zip(names, values, strict=True)) for values in zip(*processed, strict=True)]
    # One row (the dialer's journal line at most event times) is one execute, not an executemany of one.
    connection.exec_driver_sql(sql, prepared[0] if len(prepared) == 1 else prepared)


def _copy(connection: Connection, table: str, names: tuple[str, ...], processed: list[list[Any]]) -> None:
    """COPY the processed values into the table (psycopg 3 adapts each value as it would a query parameter)."""
    quote = connection.dialect.identifier_preparer.quote
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {quote(table)} ({', '.join(quote(name) for name in names)}) FROM STDIN") as copy,
    ):
        for values in zip(*processed, strict=True):
            copy.write_row(values)


def _column(row_values: list[tuple[Any, ...]], slot: _Slot) -> list[Any]:
    """One bound parameter's value for every row, each passed through its bind processor once per object."""
    index, process, constant = slot
    if index is None:
        return [constant] * len(row_values)
    values = [row[index] for row in row_values]
    if process is None:
        return values
    out = []
    last: Any = _UNSET
    last_out: Any = None
    for value in values:
        if value is not last:
            last, last_out = value, process(value)
        out.append(last_out)
    return out


_UNSET = object()


_Slot = tuple[int | None, Any, Any]
"""Where a bound value comes from: (index in the row, its bind processor) or (None, None, a constant)."""


@cache
def _driver_plan(
    statement: Insert, dialect: Any, column_names: tuple[str, ...]
) -> tuple[str, tuple[_Slot, ...] | dict[str, _Slot]] | None:
    """The statement's SQL for the driver and, per bound parameter, where its value comes from; None when Core
    must run it (Python-side defaults to fill in, or an expanding parameter)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(column_names))
    defaults: dict[str, Any] = {}
    for column in compiled.insert_prefetch:  # columns the rows leave out, with a Python-side default
        default = column.default
        if not isinstance(default, ScalarElementColumnDefault):
            return None
        defaults[column.key] = default.arg
    if any(bind.expanding for bind in compiled.binds.values()):
        return None
    index = {name: position for position, name in enumerate(column_names)}
    slots: dict[str, _Slot] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type._cached_bind_processor(dialect)
        if bind.key in index:
            slots[name] = (index[bind.key], processor, None)
        else:
            # A default the rows leave out, or a literal of the statement itself (versionnumber + 1).
            value = defaults.get(bind.key, bind.effective_value)
            slots[name] = (None, None, processor(value) if processor is not None else value)
    if compiled.positiontup is not None:
        return compiled.string, tuple(slots[name] for name in compiled.positiontup)
    return compiled.string, slots


@cache
def _insert(model: type[DeclarativeBase]) -> tuple[Insert, dict[str, str]]:
    """The model's INSERT and its attribute -> column names, built once: building (and keying) a statement
    costs about as much as running it, and SQLAlchemy memoizes a statement object's cache key."""
    columns = {attribute.key: attribute.columns[0].name for attribute in model.__mapper__.column_attrs}
    return cast(Table, model.__table__).insert(), columns
