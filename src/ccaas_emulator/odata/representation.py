"""Rows as the Web API writes them: @odata.etag, typed values, and the annotations a client asked for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from ccaas_emulator.odata.model import Edm, EntitySet, Property
from ccaas_emulator.odata.query import Selection

FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass(frozen=True)
class Annotations:
    """The instance annotations named by `Prefer: odata.include-annotations` ("*" and "prefix.*" allowed)."""

    patterns: tuple[str, ...] = ()

    def wants(self, name: str) -> bool:
        for pattern in self.patterns:
            if pattern == "*" or pattern == name:
                return True
            if pattern.endswith(".*") and name.startswith(pattern[:-1]):
                return True
        return False


def etag(row: RowMapping) -> str:
    """wire-facts E10: W/"<versionnumber>"."""
    return f'W/"{row["versionnumber"]}"'


def wire_value(prop: Property, value: Any) -> Any:
    """A column value in its JSON form: GUIDs lowercase, datetimes UTC to the second with Z, choices as ints."""
    if value is None:
        return None
    if prop.edm is Edm.GUID:
        return str(value)
    if prop.edm is Edm.DATE_TIME:
        # UtcDateTime reads UTC; isoformat's first 19 characters are YYYY-MM-DDTHH:MM:SS (a third of strftime's cost)
        return value.isoformat(timespec="seconds")[:19] + "Z"
    if prop.choice is not None:
        return int(value)
    return value


def formatted_value(prop: Property, value: Any) -> str | None:
    """The text Dataverse shows for a value (en-US): choice labels (a multi-select's joined by "; "), Yes/No,
    dates, grouped numbers."""
    if value is None:
        return None
    if prop.options is not None:
        return "; ".join(prop.options(int(part)).label for part in str(value).split(",") if part)
    if prop.choice is not None:
        return str(prop.choice(value).label)
    if prop.edm is Edm.BOOLEAN:
        return "Yes" if value else "No"
    if prop.edm is Edm.DATE_TIME and isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year} {value.strftime('%I:%M %p').lstrip('0')}"
    if prop.edm in (Edm.INT32, Edm.INT64):
        return f"{int(value):,}"
    return None


class Renderer:
    """Renders rows of one response; lookup names are fetched once per response (see lookup_targets)."""

    def __init__(self, annotations: Annotations, names: dict[str, dict[uuid.UUID, str]] | None = None) -> None:
        self.annotations = annotations
        self.names = names or {}

    def entity(self, selection: Selection, row: RowMapping) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.etag": etag(row)}
        for prop in selection.properties:
            value = row[prop.column.name]
            self._annotate(body, selection.entity_set, prop, row, value)
            body[prop.name] = wire_value(prop, value)
        return body

    def _annotate(
        self, body: dict[str, Any], entity_set: EntitySet, prop: Property, row: RowMapping, value: Any
    ) -> None:
        if value is None or not self.annotations.patterns:
            return
        if prop.lookup_target is not None:
            name = self.names.get(prop.lookup_target, {}).get(value)
            if name is not None and self.annotations.wants(FORMATTED_VALUE):
                body[f"{prop.name}@{FORMATTED_VALUE}"] = name
            if self.annotations.wants(ASSOCIATED_NAVIGATION):
                body[f"{prop.name}@{ASSOCIATED_NAVIGATION}"] = prop.navigation or prop.column.name
            if self.annotations.wants(LOOKUP_LOGICAL_NAME):
                body[f"{prop.name}@{LOOKUP_LOGICAL_NAME}"] = lookup_logical_name(prop, row)
            return
        if self.annotations.wants(FORMATTED_VALUE):
            text = formatted_value(prop, value)
            if text is not None:
                body[f"{prop.name}@{FORMATTED_VALUE}"] = text


def lookup_logical_name(prop: Property, row: RowMapping) -> str:
    """The table a lookup points at; an owner is a user or a team (owneridtype)."""
    if prop.lookup_target == "owner":
        return str(row.get("owneridtype") or "systemuser")
    return str(prop.lookup_target)


def lookup_targets(selection: Selection, rows: list[RowMapping]) -> dict[str, set[uuid.UUID]]:
    """The ids each lookup target table must name for these rows."""
    wanted: dict[str, set[uuid.UUID]] = {}
    for prop in selection.properties:
        if prop.lookup_target is None:
            continue
        ids = {row[prop.column.name] for row in rows} - {None}
        if ids:
            wanted.setdefault(prop.lookup_target, set()).update(ids)
    return wanted
