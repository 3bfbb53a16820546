"""$filter: parsed by odata-query, compiled here into a SQLAlchemy expression with bound parameters.

Dataverse semantics (wire-facts E9): string comparisons ignore case, `contains`/`startswith`/`endswith`
are the only string functions, lookups are compared by GUID, `any`/`all` range over a collection
navigation property. odata-query gives the syntax tree; every name is checked against the entity model
and every literal converted to its property's type here, so no text of the request reaches the SQL.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser
from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)

from ccaas_emulator.odata.model import Edm, EntitySet, Property
from ccaas_emulator.wire.errors import (
    FILTER_NOT_SUPPORTED,
    FILTER_TOO_COMPLEX,
    INCOMPATIBLE_OPERANDS,
    PROPERTY_NOT_FOUND,
    QUERY_SYNTAX,
    UNKNOWN_FUNCTION,
)

MAX_DEPTH = 64
MAX_CONDITIONS = 500
# SQLite evaluates an expression tree at most 1000 deep; these bounds keep every accepted filter below it.
INT_RANGE = {Edm.INT32: (-(2**31), 2**31 - 1), Edm.INT64: (-(2**63), 2**63 - 1)}
_OPERATOR_KIND = {
    ast.Eq: "Equal",
    ast.NotEq: "NotEqual",
    ast.Gt: "GreaterThan",
    ast.GtE: "GreaterThanOrEqual",
    ast.Lt: "LessThan",
    ast.LtE: "LessThanOrEqual",
    ast.In: "In",
}
_FLIPPED: dict[type[ast._Comparator], type[ast._Comparator]] = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
}
_LITERAL_EDM = {
    ast.String: "Edm.String",
    ast.Integer: "Edm.Int32",
    ast.Float: "Edm.Double",
    ast.Boolean: "Edm.Boolean",
    ast.GUID: "Edm.Guid",
    ast.DateTime: "Edm.DateTimeOffset",
    ast.Date: "Edm.Date",
    ast.Time: "Edm.TimeOfDay",
    ast.Duration: "Edm.Duration",
    ast.Geography: "Edm.Geography",
    ast.List: "Collection",
}
_STRING_FUNCTIONS = frozenset({"contains", "startswith", "endswith"})
_ALIAS = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Scope:
    """Where names are looked up: an entity set and the FROM clause (table or alias) its columns come from."""

    entity_set: EntitySet
    source: FromClause


@dataclass(frozen=True)
class Ref:
    """A property reference, resolved to a column of a scope."""

    prop: Property
    expression: ColumnElement[Any]


def parse_filter(text: str, aliases: dict[str, str] | None = None) -> ast._Node:
    """The syntax tree of a $filter, with @parameter aliases replaced by their values."""
    if aliases:
        text = substitute_aliases(text, aliases)
    try:
        tree: ast._Node = ODataParser().parse(ODataLexer().tokenize(text))  # odata-query's parser is untyped
        return tree
    except ODataException as exc:
        token = getattr(exc, "token", None)
        if hasattr(exc, "function_name"):
            raise UNKNOWN_FUNCTION(name=exc.function_name) from None
        position = getattr(token, "index", len(text)) if token is not None else len(text)
        raise QUERY_SYNTAX(position=position, text=text) from None
    except (ValueError, RecursionError):
        raise QUERY_SYNTAX(position=0, text=text) from None


def substitute_aliases(text: str, aliases: dict[str, str]) -> str:
    """Replace @p1 by its value outside string literals (Dataverse supports aliases in $filter)."""
    parts = re.split(r"('(?:[^']|'')*')", text)
    for index in range(0, len(parts), 2):  # even parts are outside quotes
        parts[index] = _ALIAS.sub(lambda match: _alias_value(match.group(0), aliases), parts[index])
    return "".join(parts)


def _alias_value(name: str, aliases: dict[str, str]) -> str:
    if name not in aliases:
        raise QUERY_SYNTAX(position=0, text=name)
    return aliases[name]


class FilterCompiler:
    """Compiles one $filter tree into a boolean SQL expression over a scope."""

    def __init__(self, scope: Scope, sets: dict[str, EntitySet]) -> None:
        self._scope = scope
        self._sets = sets
        self._variables: dict[str, Scope] = {}
        self._conditions = 0

    def compile(self, node: ast._Node) -> ColumnElement[bool]:
        return self._boolean(node, depth=0)

    # --- boolean structure ------------------------------------------------------------------------------
    def _boolean(self, node: ast._Node, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise FILTER_TOO_COMPLEX(limit=f"{MAX_DEPTH} levels of nesting")
        if isinstance(node, ast.BoolOp):
            # Chains (a or b or c ...) are flattened without recursion: their depth is their length.
            operator = type(node.op)
            operands: list[ast._Node] = []
            pending: list[ast._Node] = [node]
            while pending:
                current = pending.pop()
                if isinstance(current, ast.BoolOp) and type(current.op) is operator:
                    pending.extend((current.right, current.left))
                else:
                    operands.append(current)
            compiled = [self._boolean(operand, depth + 1) for operand in operands]
            return and_(*compiled) if operator is ast.And else or_(*compiled)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not_(self._boolean(node.operand, depth + 1))
        if isinstance(node, ast.Compare):
            self._count_condition()
            return self._compare(node)
        if isinstance(node, ast.Call):
            self._count_condition()
            return self._call(node)
        if isinstance(node, ast.CollectionLambda):
            self._count_condition()
            return self._lambda(node, depth)
        if isinstance(node, ast.Boolean):
            return literal(node.py_val)
        if isinstance(node, ast.Identifier | ast.Attribute):
            ref = self._ref(node)
            if ref.prop.edm is not Edm.BOOLEAN:
                raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right="Edm.Boolean", operator="And")
            return ref.expression == literal(True)
        if isinstance(node, ast.BinOp):
            raise FILTER_NOT_SUPPORTED(what=f"The arithmetic operator '{type(node.op).__name__}'")
        raise QUERY_SYNTAX(position=0, text=type(node).__name__)

    def _count_condition(self) -> None:
        self._conditions += 1
        if self._conditions > MAX_CONDITIONS:
            raise FILTER_TOO_COMPLEX(limit=f"{MAX_CONDITIONS} conditions")

    # --- comparisons ------------------------------------------------------------------------------------
    def _compare(self, node: ast.Compare) -> ColumnElement[bool]:
        comparator = type(node.comparator)
        left, right = node.left, node.right
        if comparator is ast.In:
            ref = self._ref(left)
            if not isinstance(right, ast.List):
                raise QUERY_SYNTAX(position=0, text="in")
            values = [self._convert(ref.prop, item, "In") for item in right.val]
            if any(value is None for value in values):
                raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right="null", operator="In")
            return self._column(ref).in_([self._bind(ref, value) for value in values])
        if isinstance(left, ast._Literal) and not isinstance(right, ast._Literal):
            left, right = right, left
            comparator = _FLIPPED[comparator]
        if isinstance(left, ast._Literal):
            raise FILTER_NOT_SUPPORTED(what="A comparison of two literals")
        ref = self._ref(left)
        kind = _OPERATOR_KIND[comparator]
        if isinstance(right, ast._Literal):
            value = self._convert(ref.prop, right, kind)
            if value is None:
                if comparator is ast.Eq:
                    return ref.expression.is_(None)
                if comparator is ast.NotEq:
                    return ref.expression.is_not(None)
                raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right="null", operator=kind)
            return _apply(comparator, self._column(ref), self._bind(ref, value))
        other = self._ref(right)
        if other.prop.edm is not ref.prop.edm:
            raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right=other.prop.edm.value, operator=kind)
        return _apply(comparator, self._column(ref), self._column(other))

    def _column(self, ref: Ref) -> ColumnElement[Any]:
        # wire-facts E9: string comparisons are case-insensitive; both sides are compared lowercased.
        return func.lower(ref.expression) if ref.prop.is_string else ref.expression

    @staticmethod
    def _bind(ref: Ref, value: Any) -> ColumnElement[Any]:
        if ref.prop.is_string:
            return literal(str(value).lower())
        if isinstance(value, float):
            return literal(value, type_=Float())  # a whole-number column compared as a double, never cast down
        # Typed by the column: a datetime goes through UtcDateTime (UTC on both back ends).
        return literal(value, type_=ref.prop.column.type)

    def _convert(self, prop: Property, node: ast._Node, operator: str) -> Any:
        """The literal as a value of the property's type, or the incompatible-types error ODL gives."""
        if isinstance(node, ast.Null):
            return None
        found = _LITERAL_EDM.get(type(node), type(node).__name__)
        mismatch = INCOMPATIBLE_OPERANDS(left=prop.edm.value, right=found, operator=operator)
        try:
            if prop.edm is Edm.STRING and isinstance(node, ast.String):
                return _text_value(node.val)
            if prop.edm is Edm.GUID and isinstance(node, ast.GUID):
                return uuid.UUID(node.val)
            if prop.edm is Edm.BOOLEAN and isinstance(node, ast.Boolean):
                return node.py_val
            if prop.edm in INT_RANGE and isinstance(node, ast.Integer):
                value = int(node.val)
                low, high = INT_RANGE[prop.edm]
                if not low <= value <= high:
                    raise mismatch
                return value
            if prop.edm in (*INT_RANGE, Edm.DOUBLE) and isinstance(node, ast.Integer | ast.Float):
                number = float(node.val)
                if number != number or number in (float("inf"), float("-inf")):
                    raise mismatch
                return number
            if prop.edm is Edm.DATE_TIME and isinstance(node, ast.DateTime):
                moment = node.py_val
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                return moment.astimezone(UTC)
            if prop.edm is Edm.DATE_TIME and isinstance(node, ast.Date):
                return datetime.combine(date.fromisoformat(node.val), time(), tzinfo=UTC)
        except (ValueError, OverflowError):
            raise mismatch from None
        raise mismatch

    # --- functions ---------------------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> ColumnElement[bool]:
        name: str = node.func.full_name()  # type: ignore[no-untyped-call]  # odata-query has no annotations
        if name not in _STRING_FUNCTIONS:
            if node.func.namespace:
                raise FILTER_NOT_SUPPORTED(what=f"The query function '{name}'")
            raise UNKNOWN_FUNCTION(name=name)
        if len(node.args) != 2:
            raise QUERY_SYNTAX(position=0, text=name)
        target, needle = node.args
        ref = self._ref(target)
        if not ref.prop.is_string:
            raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right="Edm.String", operator=name)
        if not isinstance(needle, ast.String):
            raise INCOMPATIBLE_OPERANDS(
                left="Edm.String", right=_LITERAL_EDM.get(type(needle), "Edm.String"), operator=name
            )
        # %, _ and the escape character itself match literally.
        escaped = _text_value(needle.val).lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[name]
        return func.lower(ref.expression).like(literal(pattern), escape="\\")

    def like(self, node: ast._Node, pattern: str) -> ColumnElement[bool]:
        """A SQL LIKE pattern (FetchXML's like): `%` and `_` are wildcards, `[...]` kept literal; case-insensitive
        as every string comparison here."""
        self._count_condition()
        ref = self._ref(node)
        if not ref.prop.is_string:
            raise INCOMPATIBLE_OPERANDS(left=ref.prop.edm.value, right="Edm.String", operator="like")
        escaped = _text_value(pattern).lower().replace("\\", "\\\\").replace("[", "\\[")
        return func.lower(ref.expression).like(literal(escaped), escape="\\")

    # --- any / all --------------------------------------------------------------------------------------
    def _lambda(self, node: ast.CollectionLambda, depth: int) -> ColumnElement[bool]:
        owner_scope, navigation_name = self._navigation_owner(node.owner)
        navigation = owner_scope.entity_set.navigations.get(navigation_name)
        if navigation is None:
            raise PROPERTY_NOT_FOUND(name=navigation_name, entity=owner_scope.entity_set.entity_type)
        if not navigation.collection:
            raise FILTER_NOT_SUPPORTED(what=f"'{type(node.operator).__name__.lower()}' on '{navigation_name}'")
        target = self._sets[navigation.target_set]
        alias = target.table.alias(f"lambda{len(self._variables) + depth}")
        join = alias.c[navigation.remote_column.name] == owner_scope.source.c[navigation.local_column.name]
        if node.lambda_ is None:
            return exists(select(literal(1)).select_from(alias).where(join))
        variable = node.lambda_.identifier.name
        if variable in self._variables or variable in owner_scope.entity_set.properties:
            raise QUERY_SYNTAX(position=0, text=variable)
        self._variables[variable] = Scope(target, alias)
        try:
            condition = self._boolean(node.lambda_.expression, depth + 1)
        finally:
            del self._variables[variable]
        if isinstance(node.operator, ast.Any):
            return exists(select(literal(1)).select_from(alias).where(join, condition))
        # all: no related row fails the condition (a NULL comparison counts as failing).
        failing = not_(func.coalesce(condition, false()))
        return not_(exists(select(literal(1)).select_from(alias).where(join, failing)))

    def _navigation_owner(self, node: ast._Node) -> tuple[Scope, str]:
        if isinstance(node, ast.Identifier):
            return self._scope, node.name
        if isinstance(node, ast.Attribute) and isinstance(node.owner, ast.Identifier):
            scope = self._variables.get(node.owner.name)
            if scope is not None:
                return scope, node.attr
        raise FILTER_NOT_SUPPORTED(what="A path through a navigation property")

    # --- names -------------------------------------------------------------------------------------------
    def _ref(self, node: ast._Node) -> Ref:
        if isinstance(node, ast.Identifier):
            if node.namespace:
                name: str = node.full_name()  # type: ignore[no-untyped-call]  # odata-query has no annotations
                raise PROPERTY_NOT_FOUND(name=name, entity=self._scope.entity_set.entity_type)
            return self._property(self._scope, node.name)
        if isinstance(node, ast.Attribute) and isinstance(node.owner, ast.Identifier):
            scope = self._variables.get(node.owner.name)
            if scope is not None:
                return self._property(scope, node.attr)
            if node.owner.name in self._scope.entity_set.navigations:
                # wire-facts B5: elastic tables do not filter on the columns of related tables.
                raise FILTER_NOT_SUPPORTED(what=f"Filtering on the related table '{node.owner.name}'")
            raise PROPERTY_NOT_FOUND(name=node.owner.name, entity=self._scope.entity_set.entity_type)
        if isinstance(node, ast.Call | ast.BinOp | ast.UnaryOp):
            raise FILTER_NOT_SUPPORTED(what="An expression in place of a property")
        raise QUERY_SYNTAX(position=0, text=type(node).__name__)

    @staticmethod
    def _property(scope: Scope, name: str) -> Ref:
        prop = scope.entity_set.properties.get(name)
        if prop is None:
            raise PROPERTY_NOT_FOUND(name=name, entity=scope.entity_set.entity_type)
        return Ref(prop, scope.source.c[prop.column.name])


def _text_value(text: str) -> str:
    """A string literal's value; U+0000 cannot be stored or compared (PostgreSQL refuses it), so it is a 400."""
    if "\x00" in text:
        raise FILTER_NOT_SUPPORTED(what="A string containing the character U+0000")
    return text


def _apply(comparator: type[ast._Comparator], left: Any, right: Any) -> ColumnElement[bool]:
    if comparator is ast.Eq:
        return left == right  # type: ignore[no-any-return]
    if comparator is ast.NotEq:
        return left != right  # type: ignore[no-any-return]
    if comparator is ast.Gt:
        return left > right  # type: ignore[no-any-return]
    if comparator is ast.GtE:
        return left >= right  # type: ignore[no-any-return]
    if comparator is ast.Lt:
        return left < right  # type: ignore[no-any-return]
    return left <= right  # type: ignore[no-any-return]
