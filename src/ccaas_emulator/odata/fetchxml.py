"""FetchXML (`GET /<set>?fetchXml=<url-encoded xml>`), compiled onto the same query engine as `$filter`.

The XML is parsed by defusedxml (no DTDs, entities or external references; bounded size), then every condition
becomes a node of the `$filter` syntax tree and goes through `FilterCompiler`: column names, types, literal
conversion, case-insensitive strings and the SQL are the ones `$filter` uses, so a rule holds in one place.
Order and paging reuse odata/paging.py (`<order>` is a `$orderby` term; the paging cookie carries the same keyset
cursor as a `$skiptoken`).

Supported: `fetch` (top, count, page, paging-cookie, returntotalrecordcount, distinct, no-lock, mapping, version),
`entity`, `attribute`, `all-attributes`, `order`, `filter` (and/or, nested), `condition` (eq, ne, gt, ge, lt, le,
like, not-like, in, not-in, null, not-null, between, not-between, begins-with, not-begin-with, ends-with,
not-end-with, on, on-or-after, on-or-before; `valueof` column comparisons; `entityname` for a linked table),
`link-entity` along a declared relationship (inner/outer/exists/in/any/not any; the attributes of a many-to-one
link read by a scalar subquery, those of one one-to-many link by a JOIN: a row per related row).
Aggregates and `groupby` are refused with a 400 that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException
from odata_query import ast
from sqlalchemy import ColumnElement, FromClause, and_, exists, not_, or_, select, true

from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from ccaas_emulator.odata.filters import FilterCompiler, Scope
from ccaas_emulator.odata.model import Edm, EntitySet, Navigation, Property
from ccaas_emulator.odata.options import OrderBy
from ccaas_emulator.wire.errors import (
    FETCH_INVALID,
    FETCH_NO_ATTRIBUTE,
    FETCH_NO_ENTITY,
    FETCH_NOT_SUPPORTED,
)

MAX_FETCH_CHARACTERS = 32 * 1024
"""wire-facts E9: a GET URL is at most 32 KB, so no FetchXML of a GET is longer."""
MAX_ELEMENTS = 500
MAX_DEPTH = 16
MAX_PAGE_SIZE = 5000
SIMPLE_PAGING_LIMIT = 50_000
"""Page numbers without a paging cookie read by offset; Dataverse caps such paging at 50,000 rows."""
_NUMBER = re.compile(r"[0-9]{1,9}\Z")
_FETCH_ATTRIBUTES = frozenset(
    {"top", "count", "page", "paging-cookie", "returntotalrecordcount", "distinct", "no-lock", "mapping", "version"}
    | {"output-format", "latematerialize", "useraworderby", "options", "datasource"}
)
_COMPARATORS: dict[str, type[ast._Comparator]] = {
    "eq": ast.Eq,
    "ne": ast.NotEq,
    "neq": ast.NotEq,
    "gt": ast.Gt,
    "ge": ast.GtE,
    "lt": ast.Lt,
    "le": ast.LtE,
}
_STRING_FUNCTIONS = {
    "begins-with": ("startswith", False),
    "not-begin-with": ("startswith", True),
    "ends-with": ("endswith", False),
    "not-end-with": ("endswith", True),
}
_INNER_LINKS = frozenset({"inner", "exists", "in", "any"})


@dataclass(frozen=True)
class LinkedColumn:
    """An attribute of a many-to-one link-entity: `<alias>.<column>` in each row, read by a scalar subquery."""

    name: str
    prop: Property
    expression: ColumnElement[Any]


@dataclass(frozen=True)
class JoinedLink:
    """A one-to-many link-entity whose columns are read: joined, so a row comes back per related row (or one with
    null columns for a row without any, when outer), ordered after the root's order by the related row's key."""

    source: FromClause
    on: ColumnElement[bool]
    outer: bool
    key: Property


@dataclass
class FetchPlan:
    """What a FetchXML query asks for, resolved against the entity model."""

    entity_set: EntitySet
    select: tuple[str, ...] | None
    condition: ColumnElement[bool] | None
    orderby: tuple[OrderBy, ...]
    top: int | None
    page_size: int
    page: int
    paging_cookie: str | None
    total_count: bool
    linked: list[LinkedColumn] = field(default_factory=list)
    join: JoinedLink | None = None
    tables: list[str] = field(default_factory=list)
    """Logical names of every table the query reads (the root first): each needs the read privilege."""

    @property
    def offset(self) -> int:
        """Rows before this page when it is asked for by number alone (simple paging)."""
        return 0 if self.paging_cookie is not None or self.top is not None else (self.page - 1) * self.page_size


def parse_fetch(text: str) -> Element:
    """The <fetch> element of a query; anything that is not well-formed, safe, bounded FetchXML is a 400."""
    if len(text) > MAX_FETCH_CHARACTERS:
        raise FETCH_INVALID(detail=f"it is longer than {MAX_FETCH_CHARACTERS} characters.")
    try:
        root: Element = SafeXml.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FETCH_INVALID(detail="DTDs, entities and external references are not allowed.") from None
    except (ParseError, ValueError) as exc:
        raise FETCH_INVALID(detail=f"it is not well-formed XML ({str(exc)[:200]}).") from None
    if root.tag != "fetch":
        raise FETCH_INVALID(detail=f"the root element must be <fetch>, not <{root.tag[:50]}>.")
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise FETCH_INVALID(detail=f"it has more than {MAX_ELEMENTS} elements.")
    return root


def plan_fetch(text: str, entity_set: EntitySet) -> FetchPlan:
    """The plan of `fetchXml` sent to `entity_set`: its <entity> must be that set's table."""
    root = parse_fetch(text)
    for name in root.attrib:
        if name == "aggregate" and root.get(name, "").lower() == "true":
            raise FETCH_NOT_SUPPORTED(what="An aggregate query (aggregate='true')")
        if name not in _FETCH_ATTRIBUTES and name != "aggregate":
            raise FETCH_INVALID(detail=f"the attribute '{name[:50]}' is not allowed on <fetch>.")
    entities = [child for child in root if child.tag == "entity"]
    if len(entities) != 1 or len(root) != 1:
        raise FETCH_INVALID(detail="<fetch> must contain exactly one <entity> element.")
    entity = entities[0]
    name = entity.get("name", "")
    if name != entity_set.entity_type:
        if not any(candidate.entity_type == name for candidate in ENTITY_SETS.values()):
            raise FETCH_NO_ENTITY(name=name[:200])
        raise FETCH_INVALID(
            detail=f"the entity '{name[:200]}' is not the table of the entity set '{entity_set.name}' "
            f"({entity_set.entity_type})."
        )
    top = _number(root, "top")
    count = _number(root, "count")
    page = _number(root, "page")
    if top is not None and (count is not None or page is not None):
        raise FETCH_INVALID(detail="the top attribute can't be specified with paging attributes (count, page).")
    if top is not None and top > MAX_PAGE_SIZE:
        raise FETCH_INVALID(detail=f"top must be at most {MAX_PAGE_SIZE}.")
    page_size = min(count or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = page or 1
    cookie = root.get("paging-cookie") or None
    if cookie is None and page * page_size > SIMPLE_PAGING_LIMIT + page_size:
        raise FETCH_INVALID(
            detail=f"paging by page number alone reaches at most {SIMPLE_PAGING_LIMIT} rows; use the paging cookie."
        )
    compiler = _Compiler(entity_set)
    select, orderby, condition = compiler.entity(entity, depth=1)
    return FetchPlan(
        entity_set=entity_set,
        select=select,
        condition=condition,
        orderby=orderby,
        top=top,
        page_size=top if top is not None else page_size,
        page=page,
        paging_cookie=cookie,
        total_count=root.get("returntotalrecordcount", "").lower() == "true",
        linked=compiler.linked,
        join=compiler.join,
        tables=[entity_set.entity_type, *compiler.tables],
    )


def _number(element: Element, name: str) -> int | None:
    value = element.get(name)
    if value is None:
        return None
    if not _NUMBER.match(value.strip()) or int(value) < 1:
        raise FETCH_INVALID(detail=f"the {name} attribute must be a whole number of at least 1, not '{value[:50]}'.")
    return int(value)


@dataclass
class _Link:
    alias: str
    entity_set: EntitySet
    navigation: Navigation
    source: FromClause
    outer_scope: Scope
    conditions: list[ColumnElement[bool]]


class _Compiler:
    """Walks <entity> and its link-entities, building the selection, order and one boolean SQL condition."""

    def __init__(self, entity_set: EntitySet) -> None:
        self.root = Scope(entity_set, entity_set.table)
        self.linked: list[LinkedColumn] = []
        self.tables: list[str] = []
        self.links: dict[str, _Link] = {}
        self.join: JoinedLink | None = None
        self._aliases = 0

    def entity(
        self, element: Element, depth: int
    ) -> tuple[tuple[str, ...] | None, tuple[OrderBy, ...], ColumnElement[bool] | None]:
        entity_set = self.root.entity_set
        names: list[str] = []
        everything = False
        orderby: list[OrderBy] = []
        conditions: list[ColumnElement[bool]] = []
        for child in element:
            if child.tag == "attribute":
                names.append(self._attribute(entity_set, child).name)
            elif child.tag == "all-attributes":
                everything = True
            elif child.tag == "order":
                orderby.append(self._order(entity_set, child))
            elif child.tag == "filter":
                compiled = self._filter(self.root, child, depth + 1)
                if compiled is not None:
                    conditions.append(compiled)
            elif child.tag == "link-entity":
                conditions.extend(self._link(self.root, child, depth + 1))
            else:
                raise FETCH_INVALID(detail=f"<{child.tag[:50]}> is not allowed inside <entity>.")
        # Without <attribute> or <all-attributes> a row carries its key alone, as in Dataverse.
        select = None if everything else tuple(dict.fromkeys(names or [entity_set.key.name]))
        return select, tuple(orderby), and_(*conditions) if conditions else None

    # --- attributes and order ---------------------------------------------------------------------------
    @staticmethod
    def _column(entity_set: EntitySet, name: str | None) -> Property:
        """A column by its logical name (a lookup's column, not its `_x_value` property), or QueryBuilder's 400."""
        prop = entity_set.lookup_by_column(name or "")
        if prop is None:
            raise FETCH_NO_ATTRIBUTE(entity=entity_set.entity_type, name=(name or "")[:200])
        return prop

    def _attribute(self, entity_set: EntitySet, element: Element) -> Property:
        if element.get("aggregate") or element.get("groupby"):
            raise FETCH_NOT_SUPPORTED(what="An aggregate or groupby attribute")
        if element.get("alias"):
            raise FETCH_NOT_SUPPORTED(what="An alias on a non-aggregate attribute")
        return self._column(entity_set, element.get("name"))

    def _order(self, entity_set: EntitySet, element: Element) -> OrderBy:
        if element.get("alias") or element.get("entityname"):
            raise FETCH_NOT_SUPPORTED(what="Ordering by an alias or a linked table's column")
        prop = self._column(entity_set, element.get("attribute"))
        descending = element.get("descending", "false").lower()
        if descending not in ("true", "false"):
            raise FETCH_INVALID(detail=f"descending must be true or false, not '{descending[:20]}'.")
        return OrderBy(prop.name, descending=descending == "true")

    # --- filters -----------------------------------------------------------------------------------------
    def _filter(self, scope: Scope, element: Element, depth: int) -> ColumnElement[bool] | None:
        if depth > MAX_DEPTH:
            raise FETCH_INVALID(detail=f"filters are nested more than {MAX_DEPTH} deep.")
        kind = element.get("type", "and").lower()
        if kind not in ("and", "or"):
            raise FETCH_INVALID(detail=f"a filter's type must be 'and' or 'or', not '{kind[:20]}'.")
        parts: list[ColumnElement[bool]] = []
        for child in element:
            if child.tag == "condition":
                parts.append(self._condition(scope, child))
            elif child.tag == "filter":
                nested = self._filter(scope, child, depth + 1)
                if nested is not None:
                    parts.append(nested)
            elif child.tag == "link-entity" and scope is self.root:
                parts.extend(self._link(scope, child, depth + 1))
            else:
                raise FETCH_INVALID(detail=f"<{child.tag[:50]}> is not allowed inside <filter>.")
        if not parts:
            return None
        return and_(*parts) if kind == "and" else or_(*parts)

    def _condition(self, scope: Scope, element: Element) -> ColumnElement[bool]:
        linked = element.get("entityname")
        if linked:
            link = self.links.get(linked)
            if link is None:
                raise FETCH_INVALID(detail=f"no link-entity has the alias or name '{linked[:100]}'.")
            # A condition on a linked table's column holds when a related row satisfies it.
            inner = self._condition(Scope(link.entity_set, link.source), _without(element, "entityname"))
            join = _join(link)
            return exists(select(true()).select_from(link.source).where(join, inner))
        prop = self._column(scope.entity_set, element.get("attribute"))
        operator = (element.get("operator") or "").lower()
        identifier = ast.Identifier(prop.name)
        values = [value.text or "" for value in element if value.tag == "value"]
        if element.get("value") is not None:
            values.insert(0, element.get("value") or "")
        other = element.get("valueof")
        compiler = FilterCompiler(scope, ENTITY_SETS)
        if operator in ("null", "not-null"):
            comparator = ast.Eq() if operator == "null" else ast.NotEq()
            return compiler.compile(ast.Compare(comparator, identifier, ast.Null()))
        if other is not None:
            if operator not in _COMPARATORS:
                raise FETCH_NOT_SUPPORTED(what=f"valueof with the operator '{operator[:30]}'")
            column = self._column(scope.entity_set, other)
            node = ast.Compare(_COMPARATORS[operator](), identifier, ast.Identifier(column.name))
            return compiler.compile(node)
        if operator in _COMPARATORS:
            return compiler.compile(ast.Compare(_COMPARATORS[operator](), identifier, _literal(prop, _one(values))))
        if operator in ("in", "not-in"):
            if not values:
                raise FETCH_INVALID(detail=f"the condition '{operator}' needs at least one <value>.")
            listed = ast.Compare(ast.In(), identifier, ast.List([_literal(prop, value) for value in values]))
            compiled = compiler.compile(listed)
            return not_(compiled) if operator == "not-in" else compiled
        if operator in ("between", "not-between"):
            if len(values) != 2:
                raise FETCH_INVALID(detail=f"the condition '{operator}' needs two <value> elements.")
            low, high = (_literal(prop, value) for value in values)
            between = ast.BoolOp(
                ast.And(), ast.Compare(ast.GtE(), identifier, low), ast.Compare(ast.LtE(), identifier, high)
            )
            compiled = compiler.compile(between)
            return not_(compiled) if operator == "not-between" else compiled
        if operator in _STRING_FUNCTIONS:
            function, negated = _STRING_FUNCTIONS[operator]
            call = ast.Call(ast.Identifier(function), [identifier, ast.String(_one(values))])
            compiled = compiler.compile(call)
            return not_(compiled) if negated else compiled
        if operator in ("like", "not-like"):
            compiled = compiler.like(identifier, _one(values))
            return not_(compiled) if operator == "not-like" else compiled
        if operator in ("on", "on-or-after", "on-or-before"):
            return compiler.compile(_on(prop, identifier, operator, _one(values)))
        raise FETCH_NOT_SUPPORTED(what=f"The condition operator '{operator[:50]}'")

    # --- link-entity ---------------------------------------------------------------------------------------
    def _link(self, scope: Scope, element: Element, depth: int) -> list[ColumnElement[bool]]:
        """A link along a declared relationship: a condition on the root row (EXISTS), and for a many-to-one link
        its attributes as columns of the row."""
        if scope is not self.root:
            raise FETCH_NOT_SUPPORTED(what="A link-entity inside another link-entity")
        name = element.get("name", "")
        target = next((item for item in ENTITY_SETS.values() if item.entity_type == name), None)
        if target is None:
            raise FETCH_NO_ENTITY(name=name[:200])
        source_set = scope.entity_set
        navigation = _navigation(source_set, target, element.get("from", ""), element.get("to", ""))
        self._aliases += 1
        alias = element.get("alias") or f"{name}{self._aliases}"
        if alias in self.links:
            raise FETCH_INVALID(detail=f"the alias '{alias[:100]}' is used twice.")
        kind = (element.get("link-type") or "inner").lower()
        if kind not in (*_INNER_LINKS, "outer", "not any"):
            raise FETCH_NOT_SUPPORTED(what=f"The link-type '{kind[:30]}'")
        source = target.table.alias(f"fetchlink{self._aliases}")
        link = _Link(alias, target, navigation, source, scope, [])
        self.links[alias] = link
        self.tables.append(target.entity_type)
        link_scope = Scope(target, source)
        attributes: list[Property] = []
        for child in element:
            if child.tag == "attribute":
                attributes.append(self._attribute(target, child))
            elif child.tag == "all-attributes":
                attributes.extend(target.properties.values())
            elif child.tag == "filter":
                compiled = self._filter(link_scope, child, depth + 1)
                if compiled is not None:
                    link.conditions.append(compiled)
            elif child.tag == "order":
                raise FETCH_NOT_SUPPORTED(what="Ordering by a linked table's column")
            elif child.tag == "link-entity":
                raise FETCH_NOT_SUPPORTED(what="A link-entity inside another link-entity")
            else:
                raise FETCH_INVALID(detail=f"<{child.tag[:50]}> is not allowed inside <link-entity>.")
        if attributes and navigation.collection:
            return self._joined(link, attributes, kind)
        matched = exists(select(true()).select_from(source).where(_join(link), *link.conditions))
        for prop in attributes:
            value = select(source.c[prop.column.name]).where(_join(link), *link.conditions).scalar_subquery()
            self.linked.append(LinkedColumn(f"{alias}.{prop.column.name}", prop, value))
        if kind == "outer":
            return []  # an outer link keeps every row; its columns are null where nothing matched
        return [not_(matched)] if kind == "not any" else [matched]

    def _joined(self, link: _Link, attributes: list[Property], kind: str) -> list[ColumnElement[bool]]:
        """The columns of a one-to-many link: one JOIN (inner or left outer), a row per related row."""
        if self.join is not None:
            raise FETCH_NOT_SUPPORTED(what="Reading the columns of more than one one-to-many link-entity")
        if kind not in ("inner", "outer"):
            raise FETCH_NOT_SUPPORTED(what=f"Reading the columns of a '{kind}' link-entity")
        on = and_(_join(link), *link.conditions)
        self.join = JoinedLink(link.source, on, kind == "outer", link.entity_set.key)
        for prop in attributes:
            self.linked.append(LinkedColumn(f"{link.alias}.{prop.column.name}", prop, link.source.c[prop.column.name]))
        return []  # an inner join keeps the rows with a match itself


def _navigation(source: EntitySet, target: EntitySet, from_column: str, to_column: str) -> Navigation:
    """The declared relationship a link-entity follows: `from` is the linked table's column, `to` the source's."""
    for navigation in source.navigations.values():
        if navigation.target_set != target.name:
            continue
        if navigation.remote_column.name == from_column and navigation.local_column.name == to_column:
            return navigation
    raise FETCH_NOT_SUPPORTED(
        what=f"A link-entity from {target.entity_type}.{from_column[:100]} to {source.entity_type}.{to_column[:100]} "
        "(no declared relationship joins those columns)"
    )


def _join(link: _Link) -> ColumnElement[bool]:
    navigation = link.navigation
    outer = link.outer_scope.source.c[navigation.local_column.name]
    return link.source.c[navigation.remote_column.name] == outer


def _without(element: Element, attribute: str) -> Element:
    copy = Element(element.tag, {key: value for key, value in element.attrib.items() if key != attribute})
    copy.extend(list(element))
    return copy


def _one(values: list[str]) -> str:
    if len(values) != 1:
        raise FETCH_INVALID(detail="the condition needs exactly one value.")
    return values[0]


def _literal(prop: Property, text: str) -> ast._Literal:
    """A FetchXML value (always text) as the `$filter` literal of the column's type: the compiler then checks it
    exactly as it checks `$filter` (ranges, option numbers, GUIDs)."""
    value = text.strip()
    if prop.edm is Edm.STRING:
        return ast.String(text)
    if prop.edm is Edm.GUID:
        return ast.GUID(value.strip("{}"))
    if prop.edm is Edm.BOOLEAN:
        lowered = {"1": "true", "0": "false"}.get(value.lower(), value.lower())
        # anything else stays text, which the compiler refuses for a Yes/No column (odata-query reads any word as false)
        return ast.Boolean(lowered) if lowered in ("true", "false") else ast.String(value)
    if prop.edm in (Edm.INT32, Edm.INT64):
        return ast.Integer(value) if re.fullmatch(r"-?[0-9]{1,19}", value) else ast.String(value)
    if prop.edm is Edm.DOUBLE:
        return ast.Float(value) if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value) else ast.String(value)
    return _moment(value)  # Edm.DATE_TIME, the last of the types


def _moment(value: str) -> ast._Literal:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            date.fromisoformat(value)
            return ast.Date(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ast.String(value)  # the compiler refuses a string for a date column, as $filter does
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ast.DateTime(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _on(prop: Property, identifier: ast.Identifier, operator: str, text: str) -> ast._Node:
    """on / on-or-after / on-or-before: whole days in UTC (the emulator's users have no time zone of their own)."""
    try:
        day = date.fromisoformat(text.strip()[:10])
    except ValueError:
        return ast.Compare(ast.Eq(), identifier, ast.String(text))  # refused by the compiler: not a date
    start = ast.DateTime(f"{day.isoformat()}T00:00:00Z")
    end = ast.DateTime(f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z")
    if operator == "on-or-after":
        return ast.Compare(ast.GtE(), identifier, start)
    if operator == "on-or-before":
        return ast.Compare(ast.Lt(), identifier, end)
    return ast.BoolOp(ast.And(), ast.Compare(ast.GtE(), identifier, start), ast.Compare(ast.Lt(), identifier, end))
