"""SQL functions the two back ends spell differently, each compiled for both (the one place they differ)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class BucketOf(FunctionElement[int]):
    """`BucketOf(timestamp_column, start_epoch_seconds, width_seconds)`: which bucket of `width` seconds, counted
    from `start`, the timestamp falls in (a whole number; NULL for NULL). For charts grouped in SQL."""

    type = Integer()
    inherit_cache = True
    name = "bucket_of"


@compiles(BucketOf, "sqlite")
def _bucket_sqlite(element: BucketOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, start, width = (compiler.process(clause, **kw) for clause in element.clauses)
    # julianday() reads the stored 'YYYY-MM-DD HH:MM:SS.ffffff' text; CAST truncates toward zero, floor() is not
    # always compiled into SQLite: the caller counts from a start no later than any value, so truncation is floor.
    return f"CAST(((julianday({column}) - 2440587.5) * 86400.0 - {start}) / {width} AS INTEGER)"


@compiles(BucketOf, "postgresql")
def _bucket_postgresql(element: BucketOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, start, width = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(floor((extract(epoch from {column}) - {start}) / {width}) AS INTEGER)"


class NotIndexed(FunctionElement[Any]):
    """`NotIndexed(column)`: the column's value, but no index on it may serve the comparison it is in (SQLite's
    unary `+`; PostgreSQL's planner weighs its indexes by their statistics, so it gets the plain column). For a
    statement where SQLite's planner, which has no statistics, would pick an index that reads far more rows."""

    inherit_cache = True
    name = "not_indexed"


@compiles(NotIndexed, "sqlite")
def _not_indexed_sqlite(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"+{column}"  # a no-op on any value; an expression, so no index serves it


@compiles(NotIndexed)
def _not_indexed(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return column
