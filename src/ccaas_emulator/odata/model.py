"""The entity data model the Web API serves, read off the table models: sets, types, keys, lookups.

Nothing here is kept by hand per column: a column's Edm type, length, choice and lookup come from its
SQLAlchemy definition (db/types.py marks lookups and bounds), so a new column shows up in the entity
sets, in `$metadata` and in `$filter` at once. Columns prefixed `emulator_` are the emulator's own and
are not shown, unless their info says `{"web_api": True}` (a setting the real table has no column for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ColumnElement, Float, Integer, String, Table, Uuid, type_coerce

from ccaas_emulator.db.types import ChoiceType, LabelType, MultiChoiceType, UtcDateTime
from ccaas_emulator.domain import ChoiceEnum
from ccaas_emulator.wire.context import NAMESPACE

EMULATOR_PREFIX = "emulator_"
# Hidden columns a response still reads: the ETag's version, and the owner's table for its lookuplogicalname.
RENDERING_COLUMNS = ("versionnumber", "owneridtype")
# System columns the platform writes itself; a client's value for them is ignored, as Dataverse does.
SERVICE_WRITTEN = frozenset(
    {
        "createdon",
        "modifiedon",
        "createdby",
        "modifiedby",
        "createdonbehalfby",
        "modifiedonbehalfby",
        "versionnumber",
        "owningbusinessunit",
        "owninguser",
        "owningteam",
    }
)


class Edm(StrEnum):
    """The primitive types of the entity data model that the tables use."""

    GUID = "Edm.Guid"
    STRING = "Edm.String"
    DATE_TIME = "Edm.DateTimeOffset"
    INT32 = "Edm.Int32"
    INT64 = "Edm.Int64"
    BOOLEAN = "Edm.Boolean"
    DOUBLE = "Edm.Double"


@dataclass(frozen=True)
class Property:
    """One structural property of an entity type, as the Web API names and types it."""

    name: str
    column: Column[Any]
    edm: Edm
    max_length: int | None = None
    choice: type[ChoiceEnum] | None = None
    lookup_target: str | None = None
    """For a lookup (`_x_value`): the logical name of the table it points to."""
    navigation: str | None = None
    """For a lookup: its single-valued navigation property, when the target is served here."""
    minimum: int | None = None
    maximum: int | None = None
    options: type[ChoiceEnum] | None = None
    """For a multi-select choice (an Edm.String of comma-separated option numbers): its options."""

    @property
    def is_string(self) -> bool:
        return self.edm is Edm.STRING

    @property
    def service_written(self) -> bool:
        return self.column.name in SERVICE_WRITTEN


@dataclass(frozen=True)
class Navigation:
    """A navigation property: to the one record a lookup points at, or to the records pointing here."""

    name: str
    target_set: str
    collection: bool
    local_column: Column[Any]
    remote_column: Column[Any]
    partner: str


@dataclass
class EntitySet:
    """An entity set and its entity type (wire-facts B1-B3)."""

    name: str
    entity_type: str
    table: Table
    key: Property
    primary_name: str
    properties: dict[str, Property]
    navigations: dict[str, Navigation] = field(default_factory=dict)
    text_rules: dict[str, Callable[[str], object]] = field(default_factory=dict)
    """Rules a string property's value must keep beyond its type, by property name: a parser that raises
    ValueError, with a message for the client, for a value the Web API refuses."""

    @property
    def qualified_type(self) -> str:
        return f"{NAMESPACE}.{self.entity_type}"

    @cached_property
    def row_columns(self) -> tuple[ColumnElement[Any], ...]:
        """The columns a response is rendered from: every property's and the hidden ones rendering reads.

        Reads select these rather than the whole table, so the emulator's own columns (call plans, windows,
        leases) are never fetched and decoded for a response that cannot show them."""
        shown = [prop.column for prop in self.properties.values()]
        names = {column.name for column in shown}
        extra = [self.table.c[name] for name in RENDERING_COLUMNS if name in self.table.c and name not in names]
        return tuple(_as_stored(column) for column in (*shown, *extra))

    def lookup_by_column(self, column_name: str) -> Property | None:
        return next((p for p in self.properties.values() if p.column.name == column_name), None)


def describe(
    model: Any,
    *,
    entity_set: str,
    primary_name: str,
    text_rules: dict[str, Callable[[str], object]] | None = None,
) -> EntitySet:
    """The entity set of a table model: every Web API column, its Edm type and facets."""
    table: Table = model.__table__
    properties: dict[str, Property] = {}
    key: Property | None = None
    for column in table.columns:
        if not _on_the_web_api(column):
            continue
        prop = _property(column)
        properties[prop.name] = prop
        if column.primary_key:
            key = prop
    if key is None:
        raise ValueError(f"{table.name} has no primary key")
    return EntitySet(
        name=entity_set,
        entity_type=table.name,
        table=table,
        key=key,
        primary_name=primary_name,
        properties=properties,
        text_rules=dict(text_rules or {}),
    )


def _on_the_web_api(column: Column[Any]) -> bool:
    shown = column.info.get("web_api")
    return shown is True or (shown is None and not column.name.startswith(EMULATOR_PREFIX))


def relate(*, one: EntitySet, many: EntitySet, relationship: str, lookup_column: str) -> None:
    """A 1:N relationship: the collection on `one` is named after the relationship (as Dataverse names
    it), the single-valued one on `many` after the lookup's navigation property."""
    lookup = many.lookup_by_column(lookup_column)
    if lookup is None or lookup.navigation is None:
        raise ValueError(f"{many.entity_type}.{lookup_column} is not a lookup with a navigation property")
    one.navigations[relationship] = Navigation(
        name=relationship,
        target_set=many.name,
        collection=True,
        local_column=one.key.column,
        remote_column=lookup.column,
        partner=lookup.navigation,
    )
    many.navigations[lookup.navigation] = Navigation(
        name=lookup.navigation,
        target_set=one.name,
        collection=False,
        local_column=lookup.column,
        remote_column=one.key.column,
        partner=relationship,
    )


def _as_stored(column: Column[Any]) -> ColumnElement[Any]:
    """A label or multi-select column read as the text it stores: the wire shows the label, not the domain's
    enum member, and a multi-select's option numbers as Dataverse writes them ("192360000,192360002")."""
    if isinstance(column.type, LabelType | MultiChoiceType):
        return type_coerce(column, String(column.type.length)).label(column.name)
    return column


def _property(column: Column[Any]) -> Property:
    target = column.info.get("lookup")
    name = f"_{column.name}_value" if target else str(column.name)  # not quoted_name: orjson wants str
    column_type = column.type
    common: dict[str, Any] = {
        "name": name,
        "column": column,
        "lookup_target": target,
        "navigation": column.info.get("navigation"),
        "minimum": column.info.get("min"),
        "maximum": column.info.get("max"),
    }
    if isinstance(column_type, ChoiceType):
        return Property(edm=Edm.INT32, choice=column_type.enum, **common)  # type: ignore[arg-type]
    if isinstance(column_type, MultiChoiceType):
        return Property(edm=Edm.STRING, max_length=column_type.length, options=column_type.enum, **common)  # type: ignore[arg-type]
    if isinstance(column_type, UtcDateTime):
        return Property(edm=Edm.DATE_TIME, **common)
    if isinstance(column_type, LabelType):  # an enum in code, its label in the table and on the wire
        return Property(edm=Edm.STRING, max_length=column_type.length, **common)
    if isinstance(column_type, Uuid):
        return Property(edm=Edm.GUID, **common)
    if isinstance(column_type, String):
        return Property(edm=Edm.STRING, max_length=column_type.length, **common)
    if isinstance(column_type, BigInteger):
        return Property(edm=Edm.INT64, **common)
    if isinstance(column_type, Integer):
        return Property(edm=Edm.INT32, **common)
    if isinstance(column_type, Boolean):
        return Property(edm=Edm.BOOLEAN, **common)
    if isinstance(column_type, Float):
        return Property(edm=Edm.DOUBLE, **common)
    raise TypeError(f"no Edm type for {column.table.name}.{column.name} ({column_type!r})")
