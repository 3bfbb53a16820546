"""Keyset paging: the order of a query, the cursor after a page, and the $skiptoken that carries it.

The $skiptoken has the shape Dataverse gives it (wire-facts E9): `<cookie pagenumber="2"
pagingcookie="..." istracking="False" />`, the paging cookie naming the last row's value of every
order column. A page continues strictly after those values, so rows inserted while a client pages
are never repeated and no row that existed is skipped.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape, unescape

from sqlalchemy import ColumnElement, FromClause, and_, false, func, or_

from ccaas_emulator.odata.model import Edm, EntitySet, Property
from ccaas_emulator.odata.options import OrderBy
from ccaas_emulator.wire.errors import INVALID_SKIPTOKEN, PROPERTY_NOT_FOUND, QUERY_SYNTAX

MAX_ORDER_KEYS = 12
_COOKIE = re.compile(r'<cookie pagenumber="(\d{1,9})" pagingcookie="([^"]*)" istracking="False" />\Z')
_ENTRY = re.compile(r'<([A-Za-z_][A-Za-z0-9_]*)((?: [a-z]+="[^"]*")*) />')
_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"]*)"')


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term: strings sort without regard to case, NULLs first ascending (as SQL Server)."""

    prop: Property
    descending: bool
    expression: ColumnElement[Any]
    outer: bool = False
    """The key of an outer-joined table (FetchXML): NULL where the row has no related row."""

    @property
    def nullable(self) -> bool:
        return self.outer or (bool(self.prop.column.nullable) and not self.prop.column.primary_key)

    def order_clause(self) -> ColumnElement[Any]:
        ordered = self.expression.desc() if self.descending else self.expression.asc()
        if not self.nullable:
            return ordered  # a NOT NULL column keeps the plain order an index can serve
        return ordered.nulls_last() if self.descending else ordered.nulls_first()


def sort_keys(entity_set: EntitySet, source: FromClause, orderby: tuple[OrderBy, ...]) -> list[SortKey]:
    """$orderby resolved against the entity set, with the primary key last so every order is total."""
    if len(orderby) > MAX_ORDER_KEYS:
        raise QUERY_SYNTAX(position=0, text="$orderby")
    keys: list[SortKey] = []
    for item in orderby:
        prop = entity_set.properties.get(item.name)
        if prop is None:
            raise PROPERTY_NOT_FOUND(name=item.name, entity=entity_set.entity_type)
        column = source.c[prop.column.name]
        keys.append(SortKey(prop, item.descending, func.lower(column) if prop.is_string else column))
    if not any(key.prop is entity_set.key for key in keys):
        keys.append(SortKey(entity_set.key, False, source.c[entity_set.key.column.name]))
    return keys


def cursor_of(keys: list[SortKey], row: Any) -> list[Any]:
    """The sort values of a row (strings lowercased, as they are compared)."""
    values = []
    for key in keys:
        value = row[key.prop.column.name]
        values.append(value.lower() if isinstance(value, str) and key.prop.is_string else value)
    return values


def after(keys: list[SortKey], cursor: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after the cursor in the order of `keys`."""
    condition: ColumnElement[bool] = false()
    for key, value in reversed(list(zip(keys, cursor, strict=True))):
        column = key.expression
        if value is None:
            later = [column.is_not(None)] if not key.descending else []
            condition = or_(and_(column.is_(None), condition), *later)
            continue
        bound = _bind(key, value)
        beyond = column < bound if key.descending else column > bound
        terms = [beyond, and_(column == bound, condition)]
        if key.descending and key.nullable:
            terms.append(column.is_(None))
        condition = or_(*terms)
    return condition


def encode_skiptoken(keys: list[SortKey], first: list[Any], last: list[Any], page: int) -> str:
    """The $skiptoken of the page after `last`: Dataverse's cookie with its paging cookie URL-encoded.

    As in Dataverse's own, each order column names the page's last and first value (`lastnull`/`firstnull`
    for NULL), GUIDs uppercase in braces; the page continues after `last`.
    """
    encoded = _lower_escapes(quote(paging_cookie(keys, first, last, page - 1), safe=""))
    return f'<cookie pagenumber="{page}" pagingcookie="{encoded}" istracking="False" />'


def paging_cookie(keys: list[SortKey], first: list[Any], last: list[Any], page: int) -> str:
    """`<cookie page="N"><column last="..." first="..." /></cookie>`: the paging cookie of page N, as FetchXML's
    paging-cookie attribute takes it back."""
    entries = []
    for key, last_value, first_value in zip(keys, last, first, strict=True):
        attributes = "".join(
            f' {which}null="1"' if value is None else f' {which}="{_attribute(key.prop, value)}"'
            for which, value in (("last", last_value), ("first", first_value))
        )
        entries.append(f"<{key.prop.column.name}{attributes} />")
    return f'<cookie page="{page}">{"".join(entries)}</cookie>'


def fetch_paging_cookie(keys: list[SortKey], first: list[Any], last: list[Any], page: int) -> str:
    """@Microsoft.Dynamics.CRM.fetchxmlpagingcookie: the cookie of the next page, its paging cookie URL-encoded
    twice as Dataverse writes it (`%253ccookie%2520page...`)."""
    encoded = quote(_lower_escapes(quote(paging_cookie(keys, first, last, page - 1), safe="")), safe="")
    return f'<cookie pagenumber="{page}" pagingcookie="{encoded}" istracking="False" />'


def decode_skiptoken(token: str, keys: list[SortKey]) -> tuple[list[Any], int]:
    """(cursor, page number) of a $skiptoken this query issued; anything else is a 400."""
    match = _COOKIE.match(token.strip())
    if match is None:
        raise INVALID_SKIPTOKEN()
    return decode_paging_cookie(unquote(match.group(2)), keys), int(match.group(1))


def decode_paging_cookie(inner: str, keys: list[SortKey]) -> list[Any]:
    """The cursor a paging cookie (`<cookie page="N">...</cookie>`) names for this query's order; else a 400."""
    entries = _ENTRY.findall(inner)
    if not inner.startswith("<cookie page=") or len(entries) != len(keys):
        raise INVALID_SKIPTOKEN()
    cursor: list[Any] = []
    for key, (name, attributes) in zip(keys, entries, strict=True):
        if name != key.prop.column.name:
            raise INVALID_SKIPTOKEN()
        values = dict(_ATTRIBUTE.findall(attributes))
        if values.get("lastnull") == "1":
            cursor.append(None)
        elif "last" in values:
            cursor.append(_parse(key.prop, unescape(values["last"], {"&quot;": '"'})))
        else:
            raise INVALID_SKIPTOKEN()
    return cursor


def _attribute(prop: Property, value: Any) -> str:
    return escape(_text(prop, value), {'"': "&quot;"})


def _bind(key: SortKey, value: Any) -> ColumnElement[Any]:
    from sqlalchemy import literal

    if key.prop.is_string:
        return literal(value)
    return literal(value, type_=key.prop.column.type)


def _text(prop: Property, value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return "{" + str(value).upper() + "}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if prop.choice is not None:
        return str(int(value))
    return str(value)


def _parse(prop: Property, text: str) -> Any:
    try:
        if prop.edm is Edm.STRING:
            if "\x00" in text:
                raise ValueError(text)
            return text
        if prop.edm is Edm.GUID:
            return uuid.UUID(text.strip("{}"))
        if prop.edm is Edm.DATE_TIME:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError(text)
            return moment
        if prop.edm is Edm.BOOLEAN:
            return {"1": True, "0": False}[text]
        if prop.edm is Edm.DOUBLE:
            return float(text)
        return int(text)
    except (ValueError, KeyError, OverflowError):
        raise INVALID_SKIPTOKEN() from None


def _lower_escapes(text: str) -> str:
    """.NET's UrlEncode writes %3c, not %3C; the paging cookie keeps that look."""
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group(0).lower(), text)
