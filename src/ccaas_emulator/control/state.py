"""The emulator's whole state as one versioned JSON document, and back (GET/PUT /emulator/v1/state).

The tables come from the SQLAlchemy metadata, so a table added later is exported without anyone remembering to;
the few left out are named in EXCLUDED_TABLES with the reason. Rows are read and written through a copy of each
table whose columns have their storage types (the option number of a choice, the JSON of a window list), so what
is exported is what the database holds, and an import writes it back unchanged. Values are JSON-typed: uuids and
datetimes as ISO strings, decoded back by the column's type. No HTTP in here: the routes are in control/routes.py.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from ccaas_emulator.clock import real_now
from ccaas_emulator.db import models as _models  # noqa: F401  (every table registered on the metadata)
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.migrate import head_revision
from ccaas_emulator.db.models import ClockState
from ccaas_emulator.db.types import UtcDateTime
from ccaas_emulator.wire.errors import INVALID_ARGUMENT

STATE_VERSION = 1
"""The document's own format; a document of another version is refused, never guessed at."""

EXCLUDED_TABLES: dict[str, str] = {
    "timezonedefinition": "Dynamics' read-only list of time zones, filled by a migration from timezones.csv: the "
    "same rows in every database at the same schema revision, and no API changes it",
    "emulator_tls_material": "this installation's local certificate authority and server certificate: clients "
    "trust its CA file, so an import keeps the CA of the database it lands in",
    "emulator_served_origin": "the origins this installation's servers answer on (tokens naming them are "
    "accepted): an import must not make the running server refuse tokens for its own port",
}
"""Tables the state leaves out, and why (tests/control/test_state.py checks this list against the metadata)."""


CLOCK_TABLE = ClockState.__tablename__


def exported_tables() -> list[Table]:
    """Every table of the state, parents before children (the order rows are inserted in)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in EXCLUDED_TABLES]


@functools.cache
def schema_revision() -> str:
    """The Alembic head the shipped migrations reach: the schema a document's rows belong to."""
    return head_revision() or ""


# --- column codecs --------------------------------------------------------------------------------------------


def storage_type(column: Column[Any]) -> TypeEngine[Any]:
    """The type the database stores: a TypeDecorator's impl, except UtcDateTime, which is storage-aware itself."""
    kind: TypeEngine[Any] = column.type
    while isinstance(kind, TypeDecorator) and not isinstance(kind, UtcDateTime):
        kind = kind.impl_instance
    return kind


@dataclass(frozen=True)
class Codec:
    """How one column's stored value becomes JSON and comes back from it."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]  # raises ValueError naming what is wrong


def _refuse_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold U+0000
        raise ValueError("a string with U+0000")
    return value


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # a plain DateTime column on SQLite: stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("an ISO 8601 date and time string was expected")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a date and time with its offset (Z for UTC) was expected")
    return parsed.astimezone(UTC)


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("a GUID string was expected")
    return uuid.UUID(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("an integer was expected")
    if not -(2**63) <= value < 2**63:
        raise ValueError("the integer is out of range")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a finite number was expected")
    return float(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false was expected")
    return value


def _string(length: int | None) -> Callable[[Any], str]:
    def decode(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("a string was expected")
        if length is not None and len(value) > length:
            raise ValueError(f"the string is longer than {length} characters")
        return _refuse_nul(value)

    return decode


def _json(value: Any) -> Any:
    def check(item: Any) -> None:
        if isinstance(item, str):
            _refuse_nul(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _refuse_nul(key)
                check(inner)
        elif isinstance(item, list):
            for inner in item:
                check(inner)

    check(value)
    return value


def _same(value: Any) -> Any:
    return value


def codec(column: Column[Any]) -> Codec:
    """The codec of a column, chosen by its storage type; a type without one is a programming error (a test
    asks for every column's, so a new column type cannot reach an export unencoded)."""
    kind = storage_type(column)
    if isinstance(kind, UtcDateTime | DateTime):
        return Codec(_iso, _datetime)
    if isinstance(kind, Uuid):
        return Codec(str, _uuid)
    if isinstance(kind, Boolean):
        return Codec(_same, _boolean)
    if isinstance(kind, Integer):  # BigInteger and SmallInteger too
        return Codec(_same, _integer)
    if isinstance(kind, Float):
        return Codec(_same, _float)
    if isinstance(kind, String):  # Text too
        return Codec(_same, _string(kind.length))
    if isinstance(kind, JSON):
        return Codec(_same, _json)
    raise TypeError(f"no state codec for {column.table.name}.{column.name} ({kind!r})")


@functools.cache
def _storage_table(name: str) -> Table:
    """The table with its columns' storage types, for reading and writing the raw values (no keys, no FKs)."""
    source = Base.metadata.tables[name]
    columns = [Column(column.name, storage_type(column), primary_key=column.primary_key, autoincrement=False)
               for column in source.columns]  # fmt: skip
    return Table(name, MetaData(), *columns)


# --- export -----------------------------------------------------------------------------------------------------


def export_state(session: Session) -> dict[str, Any]:
    """Every exported table's rows, in primary-key order, as one document."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in exported_tables():
        storage = _storage_table(table.name)
        codecs = {column.name: codec(column) for column in table.columns}
        query = select(storage).order_by(*storage.primary_key.columns)
        tables[str(table.name)] = [
            {str(name): None if value is None else codecs[name].encode(value) for name, value in row.items()}
            for row in session.execute(query).mappings()
        ]
    _reanchor_clock(tables)
    return {"version": STATE_VERSION, "schema": schema_revision(), "tables": tables}


def _reanchor_clock(tables: dict[str, list[dict[str, Any]]]) -> None:
    """The clock row says the simulated time of the export, anchored at the export's real time, so an import
    resumes the clock from there (at its speed) rather than from the time it was last set."""
    for row in tables.get(CLOCK_TABLE, []):
        anchor, real_anchor = _datetime(row["anchor"]), _datetime(row["real_anchor"])
        now = real_now()
        row["anchor"] = _iso(anchor + (now - real_anchor) * float(row["speed"]))
        row["real_anchor"] = _iso(now)


# --- import -----------------------------------------------------------------------------------------------------


def _refused(detail: str) -> Exception:
    return INVALID_ARGUMENT(message=f"The state document is not valid: {detail}.")


def decode_state(document: Any, dialect: Dialect) -> dict[str, list[dict[str, Any]]]:
    """The rows to write, each value decoded by its column's type; raises the 400 naming the first problem."""
    if not isinstance(document, dict):
        raise _refused("it must be a JSON object")
    unknown = sorted(set(document) - {"version", "schema", "tables"})
    if unknown or "tables" not in document:
        raise _refused(f"its keys must be version, schema and tables (unknown: {', '.join(unknown) or 'none'})")
    if document.get("version") != STATE_VERSION or isinstance(document.get("version"), bool):
        raise _refused(f"version {document.get('version')!r} is not {STATE_VERSION}, the one this emulator reads")
    if document.get("schema") != schema_revision():
        raise _refused(
            f"schema revision {document.get('schema')!r} is not {schema_revision()!r}, this emulator's: export it "
            "again from an emulator of this version"
        )
    tables = document["tables"]
    expected = {table.name: table for table in exported_tables()}
    if not isinstance(tables, dict) or set(tables) != set(expected):
        given = set(tables) if isinstance(tables, dict) else set()
        missing, extra = sorted(set(expected) - given), sorted(given - set(expected))
        raise _refused(f"tables must hold every exported table (missing: {', '.join(missing) or 'none'}; "
                       f"unknown: {', '.join(extra) or 'none'})")  # fmt: skip
    return {name: _decode_rows(expected[name], tables[name], dialect) for name in expected}


def _decode_rows(table: Table, rows: Any, dialect: Dialect) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise _refused(f"tables.{table.name} must be a list of rows")
    columns = {column.name: column for column in table.columns}
    codecs = {name: codec(column) for name, column in columns.items()}
    decoded: list[dict[str, Any]] = []
    keys: set[tuple[Any, ...]] = set()
    for index, row in enumerate(rows):
        where = f"tables.{table.name}[{index}]"
        if not isinstance(row, dict) or set(row) != set(columns):
            names = sorted(row) if isinstance(row, dict) else []
            raise _refused(f"{where} must be an object of exactly the columns {', '.join(columns)} "
                           f"(given: {', '.join(names) or 'none'})")  # fmt: skip
        values: dict[str, Any] = {}
        for name, column in columns.items():
            value = row[name]
            if value is None:
                if not column.nullable:
                    raise _refused(f"{where}.{name} cannot be null")
                values[name] = None
                continue
            try:
                values[name] = codecs[name].decode(value)
                if isinstance(column.type, TypeDecorator) and not isinstance(column.type, UtcDateTime):
                    column.type.process_result_value(values[name], dialect)  # an option, a window... it can read
            except (ValueError, TypeError, KeyError) as problem:
                raise _refused(f"{where}.{name}: {problem}") from None
        key = tuple(values[column.name] for column in table.primary_key.columns)
        if key in keys:
            raise _refused(f"{where} repeats the primary key of an earlier row")
        keys.add(key)
        decoded.append(values)
    return decoded


def replace_state(session: Session, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Delete every exported table's rows (children first) and insert the document's (parents first), in the
    caller's transaction; a constraint the rows break is the 400, and the transaction rolls back."""
    tables = exported_tables()
    try:
        for table in reversed(tables):
            session.execute(delete(_storage_table(table.name)))
        for table in tables:
            if rows[table.name]:
                session.execute(insert(_storage_table(table.name)), rows[table.name])
        session.flush()
    except DBAPIError as broken:
        raise _refused(f"the rows break a constraint of the database ({type(broken.orig).__name__})") from None
    if rows[CLOCK_TABLE]:  # resume the clock from the exported moment, in real time from now
        session.execute(update(ClockState).values(real_anchor=real_now()))
    if session.get_bind().dialect.name == "postgresql":
        _advance_sequences(session, tables)


def _advance_sequences(session: Session, tables: list[Table]) -> None:
    """PostgreSQL's serial columns count on from the largest id imported, not from where their sequence was."""
    for table in tables:
        for column in table.primary_key.columns:
            if column.autoincrement is not True:
                continue
            highest = session.scalar(select(func.max(column)))
            session.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, :column), :value, :called)"),
                {"table": table.name, "column": column.name, "value": highest or 1, "called": highest is not None},
            )
