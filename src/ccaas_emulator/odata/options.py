"""System query options of a GET: read from the query string, checked for shape (not yet for names).

$filter text is parsed by odata-query (filters.py); the other options have a grammar of a few
comma-separated items, read here. Names are checked against the entity set when the query is planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ccaas_emulator.wire.errors import (
    FETCH_WITH_QUERY_OPTIONS,
    INVALID_COUNT,
    INVALID_TOP,
    QUERY_OPTION_NOT_SUPPORTED,
    QUERY_OPTION_REPEATED,
    QUERY_SYNTAX,
    SKIP_NOT_SUPPORTED,
)
from ccaas_emulator.wire.query_parameters import FETCH_XML, refuse_custom_parameter

# wire-facts E9: what Dataverse supports; $skip, $search and $format are refused.
SUPPORTED = frozenset({"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken"})
EXPAND_OPTIONS = frozenset({"$select", "$filter", "$orderby", "$top"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DIGITS = re.compile(r"[0-9]+\Z")  # ASCII only: str.isdigit() also takes '²', which int() refuses


@dataclass(frozen=True)
class OrderBy:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    """One $expand item with its nested options."""

    navigation: str
    select: tuple[str, ...] | None = None
    filter: str | None = None
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[str, ...] | None = None
    filter: str | None = None
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None
    expand: tuple[Expand, ...] = ()
    count: bool = False
    skiptoken: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    fetch_xml: str | None = None


def parse_query(pairs: list[tuple[str, str]], *, strict: bool = False, fetch_xml: bool = False) -> QueryOptions:
    """The query options of a request. Reads (`strict`) refuse parameters that are neither `$` options nor `@`
    aliases, except `fetchXml` where `fetch_xml` allows it; writes ignore them, as OData allows."""
    seen: dict[str, str] = {}
    aliases: dict[str, str] = {}
    fetch: str | None = None
    for key, value in pairs:
        if key.startswith("@"):
            aliases[key] = value
            continue
        if not key.startswith("$"):
            if not strict:
                continue
            if key == FETCH_XML and fetch_xml and fetch is None:
                fetch = value
                continue
            if key == FETCH_XML and fetch is not None:
                raise QUERY_OPTION_REPEATED(option=key)
            refuse_custom_parameter(key, fetch_xml=fetch_xml)
        if key == "$skip":
            raise SKIP_NOT_SUPPORTED()
        if key not in SUPPORTED:
            raise QUERY_OPTION_NOT_SUPPORTED(option=key)
        if key in seen:
            raise QUERY_OPTION_REPEATED(option=key)
        seen[key] = value
    if fetch is not None:
        if seen:
            raise FETCH_WITH_QUERY_OPTIONS(option=next(iter(seen)))
        return QueryOptions(fetch_xml=fetch, aliases=aliases)
    return QueryOptions(
        select=_select(seen["$select"]) if "$select" in seen else None,
        filter=_non_empty(seen["$filter"], "$filter") if "$filter" in seen else None,
        orderby=_orderby(seen["$orderby"]) if "$orderby" in seen else (),
        top=_top(seen["$top"]) if "$top" in seen else None,
        expand=tuple(_expand_item(item) for item in split_top_level(seen["$expand"], ",")) if "$expand" in seen else (),
        count=_count(seen["$count"]) if "$count" in seen else False,
        skiptoken=seen.get("$skiptoken"),
        aliases=aliases,
    )


def split_top_level(text: str, separator: str) -> list[str]:
    """Split on `separator` outside parentheses and quoted strings ('' escapes a quote)."""
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QUERY_SYNTAX(position=index, text=text)
        elif char == separator and depth == 0:
            items.append(text[start:index])
            start = index + 1
    if depth != 0 or quoted:
        raise QUERY_SYNTAX(position=len(text), text=text)
    items.append(text[start:])
    return items


def _non_empty(value: str, option: str) -> str:
    if not value.strip():
        raise QUERY_SYNTAX(position=0, text=value)
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(item.strip() for item in text.split(","))
    for position, name in enumerate(names):
        if not _NAME.match(name):
            raise QUERY_SYNTAX(position=position, text=text)
    return names


def _select(text: str) -> tuple[str, ...] | None:
    if text.strip() == "*":
        return None
    return _names(text)


def _orderby(text: str) -> tuple[OrderBy, ...]:
    items = []
    for raw in text.split(","):
        parts = raw.split()
        if not parts or len(parts) > 2 or not _NAME.match(parts[0]):
            raise QUERY_SYNTAX(position=text.find(raw), text=text)
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QUERY_SYNTAX(position=text.find(raw), text=text)
        items.append(OrderBy(parts[0], descending=direction == "desc"))
    return tuple(items)


def _top(text: str) -> int:
    value = text.strip()
    if not _DIGITS.match(value) or len(value) > 10 or int(value) > 2**31 - 1:
        raise INVALID_TOP(value=text)
    return int(value)


def _count(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise INVALID_COUNT(value=text)
    return value == "true"


def _expand_item(text: str) -> Expand:
    text = text.strip()
    name, paren, rest = text.partition("(")
    name = name.strip()
    if not _NAME.match(name):
        raise QUERY_SYNTAX(position=0, text=text)
    if not paren:
        return Expand(name)
    if not rest.endswith(")"):
        raise QUERY_SYNTAX(position=len(text), text=text)
    nested: dict[str, str] = {}
    for option in split_top_level(rest[:-1], ";"):
        key, equals, value = option.strip().partition("=")
        if not equals:
            raise QUERY_SYNTAX(position=text.find(option), text=text)
        if key not in EXPAND_OPTIONS:
            raise QUERY_OPTION_NOT_SUPPORTED(option=f"{key} inside $expand")
        if key in nested:
            raise QUERY_OPTION_REPEATED(option=key)
        nested[key] = value
    return Expand(
        navigation=name,
        select=_select(nested["$select"]) if "$select" in nested else None,
        filter=_non_empty(nested["$filter"], "$filter") if "$filter" in nested else None,
        orderby=_orderby(nested["$orderby"]) if "$orderby" in nested else (),
        top=_top(nested["$top"]) if "$top" in nested else None,
    )
