"""Set-based reads and writes for imports: no ORM object per row (README, "Speed").

Rows here are plain tuples in a table's column order, with instants as integer microseconds
since the epoch (`store.types.to_micros`): that is SQLite's storage form, so a load converts
nothing, and it is what the array engines want. PostgreSQL gets COPY, its instants turned
back into `timestamptz` on the way. Lookups go in chunks so that parameter limits never bite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any, Protocol

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    cast,
    extract,
    select,
    update,
)
from sqlalchemy.dialects import sqlite

from keepwell.store.types import UTCDateTime, from_micros

CHUNK = 5_000
COPY_SLICE = 50_000  # rows of COPY text formatted and sent at a time
# Below this many new rows, keeping indexes during the insert is cheaper than rebuilding.
REBUILD_INDEXES_FROM = 50_000

Row = tuple[Any, ...]


class Rows(Protocol):
    """What a bulk write takes: rows it can count and go through once, so that a caller
    may hand rows over as they are made from columns, never all in a list at once."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Row]: ...


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_empty(connection: Connection, table: Table) -> bool:
    return connection.execute(select(1).select_from(table).limit(1)).first() is None


def micros(connection: Connection, column: Any) -> ColumnElement[int]:
    """An instant column read as integer microseconds, exactly, on either database."""
    if connection.dialect.name == "sqlite":
        return cast(column, BigInteger)
    return cast(extract("epoch", column) * 1_000_000, BigInteger)


def _selectable(connection: Connection, table: Table, name: str) -> Any:
    column = table.c[name]
    return micros(connection, column) if isinstance(column.type, UTCDateTime) else column


def existing_values(
    connection: Connection, table: Table, column: str, values: Iterable[Any]
) -> set[Any]:
    """The given values of `column` that some row holds."""
    wanted = sorted(set(values))
    found: set[Any] = set()
    col = table.c[column]
    for chunk in chunks(wanted):
        found.update(connection.execute(select(col).where(col.in_(chunk)).distinct()).scalars())
    return found


def rows_where_in(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    column: str,
    values: Iterable[Any],
) -> list[Row]:
    """`columns` of every row whose `column` is one of `values` (instants as microseconds)."""
    wanted = sorted(set(values))
    selected = [_selectable(connection, table, c) for c in columns]
    out: list[Row] = []
    for chunk in chunks(wanted):
        query = select(*selected).where(table.c[column].in_(chunk))
        out.extend(tuple(row) for row in connection.execute(query))
    return out


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Rows) -> None:
    """Insert new rows fast. On a large load into an empty table, indexes are built after."""
    if not rows:
        return
    rebuild = len(rows) >= REBUILD_INDEXES_FROM and is_empty(connection, table)
    if rebuild:
        for index in table.indexes:
            index.drop(connection)
    if connection.dialect.name == "sqlite":
        _sqlite_insert(connection, table, columns, rows)
    else:
        _postgres_copy(connection, table, columns, rows)
    if rebuild:
        for index in table.indexes:
            index.create(connection)


def insert_columns(
    connection: Connection, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """Insert new rows given as column lists (values[i] holds column i), what array code has
    at hand: each column converted in one pass (a repeated day once), then on SQLite zipped
    into rows, on PostgreSQL written as COPY text in one piece."""
    if not values or not len(values[0]):
        return
    if connection.dialect.name != "sqlite":
        _postgres_copy_text(connection, table, columns, values)
        return
    converted = [
        _converted(column, _sqlite_converter(table.c[name].type))
        for name, column in zip(columns, values, strict=True)
    ]
    rows = list(zip(*converted, strict=True))
    _sqlite_insert(connection, table, columns, rows, converted=True)


def _converted(column: Sequence[Any], convert: Callable[[Any], Any] | None) -> Sequence[Any]:
    if convert is None:
        return column
    if convert is date.isoformat:
        return _memoized(column, convert, None)
    return [None if v is None else convert(v) for v in column]


# COPY's text format: a backslash, tab, newline or carriage return in a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _copy_column(values: Sequence[Any], column_type: Any) -> list[str]:
    """A column in COPY's text format, one pass with the conversion its type needs."""
    if isinstance(column_type, Boolean):
        return [NULL if v is None else "t" if v else "f" for v in values]
    if isinstance(column_type, Float | Integer):
        # repr: the shortest text that reads back as the same number
        return [NULL if v is None else repr(v) for v in values]
    if isinstance(column_type, Date):
        return _memoized(values, date.isoformat, NULL)
    if isinstance(column_type, String):
        return _memoized(values, lambda v: v.translate(_COPY_ESCAPES), NULL)
    raise ValueError(f"COPY of {column_type!r} columns is not supported here")


def _memoized(values: Sequence[Any], convert: Callable[[Any], str], null: Any) -> list[Any]:
    """Each distinct value converted once (ids and days repeat: an account on every day);
    None becomes `null`."""
    done: dict[Any, str] = {}
    known = done.get
    return [null if v is None else known(v) or done.setdefault(v, convert(v)) for v in values]


def _postgres_copy_text(
    connection: Connection, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> None:
    """COPY from column lists, formatted here as text a column at a time: psycopg's
    write_row formats row by row and costs five times as much on narrow rows. The text goes
    out in slices, so the server stores one while the next is formatted."""
    types = [table.c[name].type for name in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    target = f"{_quoted(connection, table.name)} ({_column_list(connection, columns)})"
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for start in range(0, len(values[0]), COPY_SLICE):
            texts = [
                _copy_column(column[start : start + COPY_SLICE], column_type)
                for column, column_type in zip(values, types, strict=True)
            ]
            copy.write("\n".join("\t".join(row) for row in zip(*texts, strict=True)) + "\n")


def raw_rows(connection: Connection, query: Any) -> list[Row]:
    """The rows of a SELECT as the driver returns them, without SQLAlchemy's per-row result
    processing (a third of the time on 500,000 rows). Only for columns the driver already
    gives in their final form: numbers, text, booleans, instants read through `micros`."""
    return list(connection.execute(query).cursor.fetchall())


def update_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    key_columns: Sequence[str],
    rows: Rows,
) -> None:
    """Overwrite the non-key columns of existing rows, matched on `key_columns`."""
    if not rows:
        return
    names = list(columns)
    statement = (
        update(table)
        .where(*(table.c[k] == bindparam(f"key_{k}") for k in key_columns))
        .values({c: bindparam(f"new_{c}") for c in names if c not in key_columns})
    )
    instants = {c for c in names if isinstance(table.c[c].type, UTCDateTime)}
    params = []
    for row in rows:
        values = {
            c: from_micros(v) if c in instants and v is not None else v
            for c, v in zip(names, row, strict=True)
        }
        bound = {f"new_{c}": v for c, v in values.items() if c not in key_columns}
        bound.update({f"key_{k}": values[k] for k in key_columns})
        params.append(bound)
    connection.execute(statement, params)


def update_from_rows(
    connection: Connection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Rows,
) -> None:
    """Set `columns` of the rows whose `key` matches, from (key, *columns) tuples, in one
    UPDATE ... FROM a temporary table: hundreds of thousands of rows in seconds."""
    if not rows:
        return
    names = (key, *columns)
    temp = Table(
        f"incoming_{table.name}",
        MetaData(),
        *(Column(name, table.c[name].type) for name in names),
        prefixes=["TEMPORARY"],
    )
    temp.create(connection)
    try:
        insert_rows(connection, temp, names, rows)
        statement = (
            update(table)
            .where(table.c[key] == temp.c[key])
            .values({name: temp.c[name] for name in columns})
        )
        connection.execute(statement)
    finally:
        temp.drop(connection)


def delete_where_in(
    connection: Connection, table: Table, column: str, values: Iterable[Any]
) -> int:
    wanted = sorted(set(values))
    deleted = 0
    for chunk in chunks(wanted):
        result = connection.execute(table.delete().where(table.c[column].in_(chunk)))
        deleted += result.rowcount or 0
    return deleted


def _sqlite_insert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Rows,
    *,
    converted: bool = False,
) -> None:
    # Straight to sqlite3, inside the connection's transaction: SQLAlchemy's execution
    # context costs a quarter of a large load and adds nothing to raw tuples.
    raw = connection.connection.driver_connection
    assert raw is not None
    sqlite_insert(raw, table, columns, rows, converted=converted)


_SQLITE_NAMES = sqlite.dialect().identifier_preparer


def sqlite_insert(
    raw: sqlite3.Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    converted: bool = False,
) -> None:
    """Insert rows through a plain sqlite3 connection, values converted as the table's
    column types store them on SQLite."""
    converters = [_sqlite_converter(table.c[c].type) for c in columns]
    if any(converters) and not converted:
        rows = _convert_columns(rows, converters)
    names = ", ".join(_SQLITE_NAMES.quote(c) for c in columns)
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {_SQLITE_NAMES.quote(table.name)} ({names}) VALUES ({placeholders})"
    raw.executemany(sql, rows)


def _convert_columns(
    rows: Iterable[Row], converters: Sequence[Callable[[Any], Any] | None]
) -> list[Row]:
    """Convert column by column: one pass per converted column, not one call per value."""
    columns = list(zip(*rows, strict=True))
    for i, convert in enumerate(converters):
        if convert is not None:
            columns[i] = tuple(None if v is None else convert(v) for v in columns[i])
    return list(zip(*columns, strict=True))


def _sqlite_converter(column_type: Any) -> Callable[[Any], Any] | None:
    # Instants are integer microseconds already, and bool is an int to sqlite3.
    if isinstance(column_type, Date):
        return date.isoformat
    if isinstance(column_type, Numeric):
        return str
    if isinstance(column_type, JSON):
        return _json_text
    return None


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _postgres_converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, UTCDateTime):
        return from_micros
    if isinstance(column_type, JSON):
        return _json_text
    return None


def _postgres_copy(
    connection: Connection, table: Table, columns: Sequence[str], rows: Rows
) -> None:
    converters = [_postgres_converter(table.c[c].type) for c in columns]
    if any(converters):
        rows = _convert_columns(rows, converters)
    raw = connection.connection.driver_connection
    assert raw is not None
    target = f"{_quoted(connection, table.name)} ({_column_list(connection, columns)})"
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _column_list(connection: Connection, columns: Sequence[str]) -> str:
    return ", ".join(_quoted(connection, c) for c in columns)
