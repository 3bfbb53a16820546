"""Reading entity sets as the Web API answers: pages, single rows, related rows, counts (wire-facts E8-E10)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, RowMapping
from sqlalchemy.orm import Session

from ccaas_emulator.odata import query
from ccaas_emulator.odata.fetchxml import FetchPlan
from ccaas_emulator.odata.model import EntitySet, Navigation
from ccaas_emulator.odata.options import Expand, QueryOptions
from ccaas_emulator.odata.paging import (
    SortKey,
    cursor_of,
    decode_paging_cookie,
    decode_skiptoken,
    encode_skiptoken,
    fetch_paging_cookie,
    sort_keys,
)
from ccaas_emulator.odata.representation import FORMATTED_VALUE, Annotations, Renderer, lookup_targets, wire_value
from ccaas_emulator.wire.context import service_root
from ccaas_emulator.wire.errors import EXPAND_NOT_SUPPORTED, FETCH_INVALID, OBJECT_DOES_NOT_EXIST, DataverseError

MAX_EXPANDS = 15
_DIGITS = re.compile(r"[0-9]+\Z")
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
TOTAL_COUNT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
GLOBAL_METADATA_VERSION = "Microsoft.Dynamics.CRM.globalmetadataversion"
FETCH_PAGING_COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
MORE_RECORDS = "Microsoft.Dynamics.CRM.morerecords"


@dataclass(frozen=True)
class Preferences:
    """What a request's Prefer headers ask for (wire-facts E2, E3), and what to echo as applied."""

    max_page_size: int | None = None
    annotations: Annotations = field(default_factory=Annotations)
    annotations_text: str | None = None
    return_representation: bool = False
    continue_on_error: bool = False

    def applied(self, *, paged: bool, representation: bool = False) -> list[str]:
        echoed = []
        if self.annotations_text is not None:
            echoed.append(f"odata.include-annotations={self.annotations_text}")
        if paged and self.max_page_size is not None:
            echoed.append(f"odata.maxpagesize={self.max_page_size}")
        if representation and self.return_representation:
            echoed.append("return=representation")
        return echoed


def parse_preferences(headers: list[str]) -> Preferences:
    """Prefer: odata.maxpagesize=N, odata.include-annotations="...", return=representation (any order)."""
    max_page_size = None
    annotations_text = None
    representation = False
    continue_on_error = False
    for header in headers:
        for token in _split_preferences(header):
            name, _, value = token.partition("=")
            name = name.strip().lower()
            value = value.strip()
            if name == "odata.maxpagesize" and _DIGITS.match(value) and len(value) <= 9 and int(value) > 0:
                max_page_size = min(int(value), query.MAX_PAGE_SIZE)
            elif name == "odata.include-annotations" and value:
                annotations_text = value
            elif name == "return" and value.lower() == "representation":
                representation = True
            elif name == "odata.continue-on-error" and value.lower() in ("", "true"):
                continue_on_error = True
    patterns = tuple(item.strip() for item in (annotations_text or "").strip('"').split(",") if item.strip())
    return Preferences(max_page_size, Annotations(patterns), annotations_text, representation, continue_on_error)


def _split_preferences(header: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    tokens.append("".join(current))
    return [token for token in tokens if token.strip()]


@dataclass(frozen=True)
class Urls:
    """The URLs a response names: its service root, @odata.context, entity ids, next links."""

    org_url: str
    version: str

    @property
    def root(self) -> str:
        return service_root(self.org_url, self.version)

    def context(self, target: str, clause: str = "", *, entity: bool = False) -> str:
        return f"{self.root}$metadata#{target}{clause}{'/$entity' if entity else ''}"

    def entity_id(self, entity_set: EntitySet, key: uuid.UUID) -> str:
        return f"{self.root}{entity_set.name}({key})"


def context_clause(select: tuple[str, ...] | None, expand: tuple[Expand, ...]) -> str:
    """`(a,b,nav(c))`: the $select list and each expansion with its own (research notes 1a-1c)."""
    items = list(select or ())
    items += [f"{item.navigation}({','.join(item.select or ())})" for item in expand]
    return f"({','.join(items)})" if items else ""


@dataclass
class Reader:
    """Answers the GETs of one request, inside its read-only unit of work."""

    session: Session
    urls: Urls
    preferences: Preferences

    def collection(
        self,
        entity_set: EntitySet,
        options: QueryOptions,
        *,
        raw_query: str,
        path: str,
        parent: tuple[Navigation, uuid.UUID] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """A page of an entity set (or of a parent's related rows); True when it is a paged answer."""
        chosen = query.selection(entity_set, options.select)
        expansions = self._plan_expansions(entity_set, options)
        condition = _condition(entity_set, options, parent)
        keys = sort_keys(entity_set, entity_set.table, options.orderby)
        # wire-facts E9: with Prefer: odata.maxpagesize, $top is ignored; $top alone limits, unpaged.
        paged = options.top is None or self.preferences.max_page_size is not None
        if paged:
            size = self.preferences.max_page_size or query.MAX_PAGE_SIZE
        else:
            size = min(options.top or 0, query.MAX_PAGE_SIZE)
        cursor, page_number = (None, 1)
        if options.skiptoken is not None:
            cursor, page_number = decode_skiptoken(options.skiptoken, keys)
        page = query.read_page(
            self.session, entity_set=entity_set, condition=condition, keys=keys, cursor=cursor, size=size
        )
        body: dict[str, Any] = {
            "@odata.context": self.urls.context(path, context_clause(options.select, options.expand))
        }
        self._counts(body, entity_set, condition, options.count)
        body["value"] = self._render(chosen, expansions, page.rows)
        if paged and page.more and page.rows:
            token = encode_skiptoken(
                keys, cursor_of(keys, page.rows[0]), cursor_of(keys, page.rows[-1]), page_number + 1
            )
            body["@odata.nextLink"] = self._next_link(path, raw_query, token)
        return body, paged

    def fetch(self, plan: FetchPlan, *, path: str) -> dict[str, Any]:
        """A FetchXML page (odata/fetchxml.py): the rows without their null columns (FetchXML returns none), the
        linked columns as `<alias>.<column>`, and the paging cookie and morerecords annotations when asked for."""
        entity_set = plan.entity_set
        chosen = query.selection(entity_set, plan.select)
        keys = sort_keys(entity_set, entity_set.table, plan.orderby)
        extra: list[ColumnElement[Any]] = [linked.expression.label(linked.name) for linked in plan.linked]
        join = None
        if plan.join is not None:  # a row per related row: ordered by the related row's key after the root's
            related_key = plan.join.source.c[plan.join.key.column.name]
            keys.append(SortKey(plan.join.key, False, related_key, outer=plan.join.outer))
            extra.append(related_key.label(plan.join.key.column.name))
            join = (plan.join.source, plan.join.on, plan.join.outer)
        cursor = None
        if plan.paging_cookie is not None:
            try:
                cursor = decode_paging_cookie(plan.paging_cookie, keys)
            except DataverseError:
                raise FETCH_INVALID(
                    detail="its paging-cookie is not one this query issued; send back the one the previous page's "
                    "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie carried, with the same order."
                ) from None
        page = query.read_fetch_page(
            self.session,
            entity_set=entity_set,
            condition=plan.condition,
            keys=keys,
            cursor=cursor,
            size=plan.page_size,
            offset=plan.offset,
            extra=extra,
            join=join,
        )
        body: dict[str, Any] = {"@odata.context": self.urls.context(path, context_clause(plan.select, ()))}
        annotations = self.preferences.annotations
        if plan.total_count and annotations.wants(TOTAL_COUNT):
            total = query.count_rows(self.session, entity_set=entity_set, condition=plan.condition)
            body[f"@{TOTAL_COUNT}"] = min(total, query.COUNT_LIMIT)
            body[f"@{TOTAL_COUNT_EXCEEDED}"] = total > query.COUNT_LIMIT
        rows = self._render(chosen, [], page.rows)
        for item, row in zip(rows, page.rows, strict=True):
            for linked in plan.linked:
                item[linked.name] = None if row[linked.name] is None else wire_value(linked.prop, row[linked.name])
        body["value"] = [_without_nulls(item) for item in rows]
        more = page.more and plan.top is None
        if annotations.wants(MORE_RECORDS):
            body[f"@{MORE_RECORDS}"] = more
        if more and page.rows and annotations.wants(FETCH_PAGING_COOKIE):
            body[f"@{FETCH_PAGING_COOKIE}"] = fetch_paging_cookie(
                keys, cursor_of(keys, page.rows[0]), cursor_of(keys, page.rows[-1]), plan.page + 1
            )
        return body

    def entity(self, entity_set: EntitySet, key: uuid.UUID, options: QueryOptions) -> tuple[dict[str, Any], str]:
        """One row by its key, with its ETag; 404 in Dataverse's words when there is none."""
        row = query.read_one(self.session, entity_set=entity_set, key=key)
        if row is None:
            raise OBJECT_DOES_NOT_EXIST(entity=entity_set.entity_type, id=key)
        chosen = query.selection(entity_set, options.select)
        expansions = self._plan_expansions(entity_set, options)
        body: dict[str, Any] = {
            "@odata.context": self.urls.context(
                entity_set.name, context_clause(options.select, options.expand), entity=True
            )
        }
        body.update(self._render(chosen, expansions, [row])[0])
        return body, str(body["@odata.etag"])

    def count(self, entity_set: EntitySet, options: QueryOptions, parent: tuple[Navigation, uuid.UUID] | None) -> int:
        condition = _condition(entity_set, options, parent)
        return min(query.count_rows(self.session, entity_set=entity_set, condition=condition), query.COUNT_LIMIT)

    def require_row(self, entity_set: EntitySet, key: uuid.UUID) -> RowMapping:
        row = query.read_one(self.session, entity_set=entity_set, key=key)
        if row is None:
            raise OBJECT_DOES_NOT_EXIST(entity=entity_set.entity_type, id=key)
        return row

    # --- internals -------------------------------------------------------------------------------------
    def _plan_expansions(self, entity_set: EntitySet, options: QueryOptions) -> list[query.ExpandPlan]:
        if len(options.expand) > MAX_EXPANDS:
            raise EXPAND_NOT_SUPPORTED(what=f"At most {MAX_EXPANDS} $expand options are supported.")
        plans = [query.plan_expand(entity_set, item, options.aliases) for item in options.expand]
        for plan, item in zip(plans, options.expand, strict=True):
            if not plan.navigation.collection and (item.orderby or item.top is not None):
                raise EXPAND_NOT_SUPPORTED(
                    what="Only $select and $filter clause can be provided while doing $expand on many-to-one "
                    "relationship or nested one-to-many relationship."
                )
        return plans

    def _counts(self, body: dict[str, Any], entity_set: EntitySet, condition: Any, requested: bool) -> None:
        annotations = self.preferences.annotations
        total = None
        if requested:
            total = query.count_rows(self.session, entity_set=entity_set, condition=condition)
            body["@odata.count"] = min(total, query.COUNT_LIMIT)
        if annotations.wants(TOTAL_COUNT):
            body[f"@{TOTAL_COUNT}"] = -1 if total is None else min(total, query.COUNT_LIMIT)
        if annotations.wants(TOTAL_COUNT_EXCEEDED):
            body[f"@{TOTAL_COUNT_EXCEEDED}"] = total is not None and total > query.COUNT_LIMIT
        if annotations.wants(GLOBAL_METADATA_VERSION):
            body[f"@{GLOBAL_METADATA_VERSION}"] = METADATA_VERSION

    def _render(
        self, chosen: query.Selection, expansions: list[query.ExpandPlan], rows: list[RowMapping]
    ) -> list[dict[str, Any]]:
        related = [query.read_expansion(self.session, plan=plan, parents=rows) for plan in expansions]
        renderer = Renderer(self.preferences.annotations, self._lookup_names(chosen, rows, expansions, related))
        rendered = []
        for row in rows:
            item = renderer.entity(chosen, row)
            for plan, found in zip(expansions, related, strict=True):
                local = row[plan.navigation.local_column.name]
                if plan.navigation.collection:
                    item[plan.navigation.name] = [
                        renderer.entity(plan.selection, child) for child in found.get(local, [])
                    ]
                    item[f"{plan.navigation.name}@odata.nextLink"] = self._related_link(chosen.entity_set, local, plan)
                else:
                    parent = found.get(local)
                    if parent is None:
                        item[plan.navigation.name] = None
                    else:
                        # An expanded single-valued navigation carries no @odata.etag (research notes 6).
                        entity = renderer.entity(plan.selection, parent)
                        entity.pop("@odata.etag")
                        item[plan.navigation.name] = entity
            rendered.append(item)
        return rendered

    def _lookup_names(
        self,
        chosen: query.Selection,
        rows: list[RowMapping],
        expansions: list[query.ExpandPlan],
        related: list[dict[Any, Any]],
    ) -> dict[str, dict[uuid.UUID, str]]:
        if not self.preferences.annotations.wants(FORMATTED_VALUE):
            return {}
        wanted = lookup_targets(chosen, rows)
        for plan, found in zip(expansions, related, strict=True):
            children = [child for value in found.values() for child in (value if isinstance(value, list) else [value])]
            for target, ids in lookup_targets(plan.selection, children).items():
                wanted.setdefault(target, set()).update(ids)
        return {target: query.lookup_names(self.session, target=target, ids=ids) for target, ids in wanted.items()}

    def _related_link(self, entity_set: EntitySet, key: Any, plan: query.ExpandPlan) -> str:
        link = f"{self.urls.root}{entity_set.name}({key})/{plan.navigation.name}"
        if plan.selection.names:
            link += "?$select=" + ",".join(plan.selection.names)
        return link

    def _next_link(self, path: str, raw_query: str, token: str) -> str:
        """The request's own query string, as sent, with the new $skiptoken last (research notes 2)."""
        kept = [part for part in raw_query.split("&") if part and not _is_skiptoken(part)]
        kept.append("$skiptoken=" + quote(token, safe="=/"))
        return f"{self.urls.root}{path}?{'&'.join(kept)}"


def _condition(entity_set: EntitySet, options: QueryOptions, parent: tuple[Navigation, uuid.UUID] | None) -> Any:
    """The $filter, narrowed to one parent's related rows when the URL goes through a navigation."""
    condition = query.filter_condition(entity_set, options.filter, options.aliases)
    if parent is None:
        return condition
    navigation, key = parent
    by_parent = entity_set.table.c[navigation.remote_column.name] == key
    return by_parent if condition is None else by_parent & condition


def _without_nulls(item: dict[str, Any]) -> dict[str, Any]:
    """FetchXML answers leave out null columns, and the annotations of those columns, except the row's ETag."""
    nulls = {name for name, value in item.items() if value is None and "@" not in name}
    return {name: value for name, value in item.items() if name not in nulls and name.split("@", 1)[0] not in nulls}


def _is_skiptoken(part: str) -> bool:
    name = part.split("=", 1)[0].lower()
    return name in ("$skiptoken", "%24skiptoken")


METADATA_VERSION = "1"
"""@Microsoft.Dynamics.CRM.globalmetadataversion: changes when the served model does (a string, as in Dataverse)."""
