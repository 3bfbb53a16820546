"""Every query the Web API's entity sets make: pages, counts, single rows, expansions, lookup names.

Statements are built from the entity model and the parsed options with bound parameters only.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, RowMapping, Select, and_, bindparam, func, select
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import SystemUser
from ccaas_emulator.odata.entity_sets import BY_LOGICAL_NAME, ENTITY_SETS
from ccaas_emulator.odata.filters import FilterCompiler, Scope, parse_filter
from ccaas_emulator.odata.model import EntitySet, Navigation, Property
from ccaas_emulator.odata.options import Expand, OrderBy
from ccaas_emulator.odata.paging import SortKey, after, sort_keys
from ccaas_emulator.wire.errors import PROPERTY_NOT_FOUND

MAX_PAGE_SIZE = 5000
"""wire-facts E9: the default and the largest page."""
COUNT_LIMIT = 5000
"""wire-facts E9: @odata.count stops counting at 5000."""


@dataclass(frozen=True)
class Selection:
    """The properties a response shows: all of them, or the $select list (the key always)."""

    entity_set: EntitySet
    names: tuple[str, ...] | None

    @property
    def properties(self) -> list[Property]:
        if self.names is None:
            return list(self.entity_set.properties.values())
        chosen = [self.entity_set.properties[name] for name in self.names]
        if self.entity_set.key not in chosen:
            chosen.insert(0, self.entity_set.key)
        return chosen


def selection(entity_set: EntitySet, names: tuple[str, ...] | None) -> Selection:
    if names is not None:
        for name in names:
            if name not in entity_set.properties:
                raise PROPERTY_NOT_FOUND(name=name, entity=entity_set.entity_type)
    return Selection(entity_set, names)


def filter_condition(entity_set: EntitySet, text: str | None, aliases: dict[str, str]) -> ColumnElement[bool] | None:
    if text is None:
        return None
    scope = Scope(entity_set, entity_set.table)
    return FilterCompiler(scope, ENTITY_SETS).compile(parse_filter(text, aliases))


def navigation(entity_set: EntitySet, name: str) -> Navigation:
    found = entity_set.navigations.get(name)
    if found is None:
        raise PROPERTY_NOT_FOUND(name=name, entity=entity_set.entity_type)
    return found


@dataclass(frozen=True)
class Page:
    rows: list[RowMapping]
    more: bool


def page_statement(
    *,
    entity_set: EntitySet,
    condition: ColumnElement[bool] | None,
    keys: list[SortKey],
    cursor: list[Any] | None,
    size: int,
) -> Select[Any]:
    """One page of rows in key order, after the cursor; one row more is read to know whether more follow."""
    statement = select(*entity_set.row_columns)
    if condition is not None:
        statement = statement.where(condition)
    if cursor is not None:
        statement = statement.where(after(keys, cursor))
    return statement.order_by(*(key.order_clause() for key in keys)).limit(size + 1)


def read_fetch_page(
    session: Session,
    *,
    entity_set: EntitySet,
    condition: ColumnElement[bool] | None,
    keys: list[SortKey],
    cursor: list[Any] | None,
    size: int,
    offset: int,
    extra: list[ColumnElement[Any]],
    join: tuple[FromClause, ColumnElement[bool], bool] | None = None,
) -> Page:
    """A FetchXML page: the same keyset statement, with its linked columns, the JOIN of a one-to-many link whose
    columns it reads and, for simple paging, an offset."""
    statement = page_statement(entity_set=entity_set, condition=condition, keys=keys, cursor=cursor, size=size)
    if join is not None:
        source, on, outer = join
        statement = statement.select_from(entity_set.table.join(source, on, isouter=outer))
    if extra:
        statement = statement.add_columns(*extra)
    if offset:
        statement = statement.offset(offset)
    rows = list(session.execute(statement).mappings())
    return Page(rows[:size], more=len(rows) > size)


def read_page(session: Session, *, size: int, **plan: Any) -> Page:
    rows = list(session.execute(page_statement(size=size, **plan)).mappings())
    return Page(rows[:size], more=len(rows) > size)


def count_rows(session: Session, *, entity_set: EntitySet, condition: ColumnElement[bool] | None) -> int:
    """How many rows match, counting no further than one past the cap."""
    inner = select(entity_set.key.column)
    if condition is not None:
        inner = inner.where(condition)
    limited = inner.limit(COUNT_LIMIT + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def read_one(
    session: Session, *, entity_set: EntitySet, key: uuid.UUID, condition: ColumnElement[bool] | None = None
) -> RowMapping | None:
    if condition is None:
        return session.execute(_by_key(entity_set), {"key": key}).mappings().one_or_none()
    statement = select(*entity_set.row_columns).where(entity_set.key.column == key, condition)
    return session.execute(statement).mappings().one_or_none()


_BY_KEY: dict[str, Select[Any]] = {}


def _by_key(entity_set: EntitySet) -> Select[Any]:
    """The row by its key, built once per entity set (building and keying a statement costs more than a
    by-key read itself; SQLAlchemy memoizes a statement object's cache key)."""
    statement = _BY_KEY.get(entity_set.name)
    if statement is None:
        statement = select(*entity_set.row_columns).where(entity_set.key.column == bindparam("key"))
        _BY_KEY[entity_set.name] = statement
    return statement


@dataclass(frozen=True)
class ExpandPlan:
    """An $expand item resolved against the model."""

    navigation: Navigation
    target: EntitySet
    selection: Selection
    condition: ColumnElement[bool] | None
    orderby: tuple[OrderBy, ...]
    top: int | None


def plan_expand(entity_set: EntitySet, item: Expand, aliases: dict[str, str]) -> ExpandPlan:
    nav = navigation(entity_set, item.navigation)
    target = ENTITY_SETS[nav.target_set]
    return ExpandPlan(
        navigation=nav,
        target=target,
        selection=selection(target, item.select),
        condition=filter_condition(target, item.filter, aliases),
        orderby=item.orderby,
        top=item.top,
    )


def read_expansion(session: Session, *, plan: ExpandPlan, parents: list[RowMapping]) -> dict[Any, Any]:
    """The related rows of every parent: a list per parent for a collection, one row (or None) otherwise."""
    nav = plan.navigation
    values = {row[nav.local_column.name] for row in parents} - {None}
    if not values:
        return {}
    table = plan.target.table
    remote = table.c[nav.remote_column.name]
    conditions: list[ColumnElement[bool]] = [remote.in_(values)]
    if plan.condition is not None:
        conditions.append(plan.condition)
    if not nav.collection:
        rows = session.execute(select(*plan.target.row_columns).where(*conditions)).mappings()
        return {row[nav.remote_column.name]: row for row in rows}
    keys = sort_keys(plan.target, table, plan.orderby)
    order = [key.order_clause() for key in keys]
    limit = min(plan.top if plan.top is not None else MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    # The first `limit` related rows of each parent, in one statement.
    ranked = (
        select(
            *plan.target.row_columns, func.row_number().over(partition_by=remote, order_by=order).label("odata_rank")
        )
        .where(and_(*conditions))
        .subquery()
    )
    rank_order = [key.order_clause() for key in sort_keys(plan.target, ranked, plan.orderby)]
    rows = session.execute(
        select(*(ranked.c[column.name] for column in plan.target.row_columns))
        .where(ranked.c.odata_rank <= limit)
        .order_by(*rank_order)
    ).mappings()
    grouped: dict[Any, list[RowMapping]] = defaultdict(list)
    for row in rows:
        grouped[row[nav.remote_column.name]].append(row)
    return grouped


def lookup_names(session: Session, *, target: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The primary name of the records some lookups point at (their FormattedValue)."""
    if not ids:
        return {}
    if target in ("systemuser", "owner"):
        rows = session.execute(select(SystemUser.id, SystemUser.full_name).where(SystemUser.id.in_(ids)))
        return {row[0]: row[1] for row in rows}
    entity_set = BY_LOGICAL_NAME.get(target)
    if entity_set is None:
        return {}
    name_column = entity_set.properties[entity_set.primary_name].column
    rows = session.execute(select(entity_set.key.column, name_column).where(entity_set.key.column.in_(ids)))
    return {row[0]: row[1] for row in rows}
