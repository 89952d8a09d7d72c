"""Reading a JSON Lines import: parse, validate, de-duplicate and check references.

Nothing here touches the database: existing records are looked up through a callable the
caller passes in, so the rules (PRODUCT.md 9) are testable with plain data. Writing is the
service's job (`keepwell.services.importing`).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from operator import add, ne
from typing import Any, Union

import msgspec
import numpy as np
import orjson

from keepwell.ingest.fields import FieldError, fast_type, instant
from keepwell.ingest.records import RECORD_TYPES, SCHEDULE, USER, Field, RecordType
from keepwell.store.types import EPOCH, MICROSECOND

Values = tuple[Any, ...]
Key = tuple[Any, ...]
# kind ("user", "account", ...) and ids -> the ids among them that the database holds
Lookup = Callable[[str, set[str]], set[str]]
# thread ids -> {thread id: account id} for the threads the database holds
ThreadLookup = Callable[[set[str]], dict[str, str]]
# user ids -> {user id: manager id}
ManagerLookup = Callable[[set[str]], dict[str, str | None]]


@dataclass(frozen=True, order=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field!r}" if self.field else "")
        return f"{where}: {self.message}"


class NotUtf8(ValueError):
    """The file is not UTF-8 text: said once, at its first such line, not on every line."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: not UTF-8 text; save the file as UTF-8")
        self.line = line


class ZippedRows:
    """Rows read off columns as they are iterated: a bulk write takes them one by one, so
    millions of row tuples never sit in a list (and in memory) all at once."""

    def __init__(self, columns: Sequence[Sequence[Any]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self) -> Iterator[Values]:
        return zip(*self.columns, strict=True)


class _RowsWithDigests:
    """Rows with their digest appended as they are iterated: no second list of millions of
    rows, and no transpose (a tuple concatenation costs a sixth of zipping ten columns)."""

    def __init__(self, rows: list[Values], row_digests: list[int]) -> None:
        self.rows, self.digests = rows, row_digests

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Values]:
        return map(add, self.rows, zip(self.digests))


@dataclass
class TypeRows:
    """One type's valid lines, column-parsed: parallel lists of line numbers and values, and
    their digests once asked for."""

    lines: list[int] = field(default_factory=list)
    values: list[Values] = field(default_factory=list)
    _digests: list[int] | None = field(default=None, repr=False, compare=False)
    _columns: list[Sequence[Any]] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def digests(self) -> list[int]:
        """Computed on first use: an import of new records into an empty table never
        compares them, and 2 million messages take seconds to digest."""
        if self._digests is None:
            self._digests = digests(self.values)
        return self._digests

    def column(self, index: int) -> Sequence[Any]:
        """One field of every row. The rows are transposed once, on first use: sets, checks
        and array code then run over a column at C speed instead of row by row."""
        if self._columns is None:
            self._columns = list(zip(*self.values, strict=True))
        return self._columns[index] if self._columns else ()

    def with_digests(self) -> _RowsWithDigests:
        """The rows as they are written: every value, then the digest."""
        return _RowsWithDigests(self.values, self.digests)

    def subset(self, indexes: Iterable[int]) -> TypeRows:
        keep = list(indexes)
        kept_digests = None if self._digests is None else [self._digests[i] for i in keep]
        return TypeRows([self.lines[i] for i in keep], [self.values[i] for i in keep], kept_digests)

    def without(self, bad: set[int]) -> TypeRows:
        return self.subset(i for i, line in enumerate(self.lines) if line not in bad)


@dataclass
class Batch:
    """The valid lines of one file, grouped by type, in file order."""

    rows: dict[str, TypeRows] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0

    def drop_lines(self, bad: set[int]) -> None:
        self.rows = {name: rows.without(bad) for name, rows in self.rows.items()}


# Lines are read in chunks of this many; progress is reported after each.
CHUNK_LINES = 50_000


def parse_lines(
    lines: Iterable[bytes | str],
    on_progress: Callable[[int], None] | None = None,
) -> Batch:
    """Parse and validate every line; errors are collected, never raised, except that a
    file that is not UTF-8 raises `NotUtf8` at its first such line.

    Each line is first decoded by msgspec straight into a typed record (C speed, the rules of
    `fields` expressed as types); a line it rejects, or of a type it does not handle, goes
    through the field parsers, which accept the same and name what is wrong. Decoded records
    are kept as they come and turned into rows type by type at the end.
    """
    batch = Batch()
    parsed = _Parsed()
    for first, chunk in _numbered_chunks(lines, CHUNK_LINES):
        parsed.add(chunk, first, batch.errors)
        batch.lines = first + len(chunk) - 1
        if on_progress:
            on_progress(batch.lines)
    if on_progress and not batch.lines:
        on_progress(0)
    for record_type in RECORD_TYPES.values():
        numbers, values = _checked(record_type, *parsed.rows(record_type), batch.errors)
        if numbers:
            batch.rows[record_type.name] = TypeRows(numbers, values)
    return batch


def _numbered_chunks(lines: Iterable[bytes | str], size: int) -> Iterator[tuple[int, list[Any]]]:
    """The lines in lists of `size`, each with the number of its first line."""
    it = iter(lines)
    first = 1
    while chunk := list(islice(it, size)):
        yield first, chunk
        first += len(chunk)


class _Parsed:
    """The valid lines so far: decoded records by struct, careful rows by type name, each
    with their line numbers."""

    def __init__(self) -> None:
        self.fast: dict[Any, tuple[list[int], list[Any]]] = {}
        self.careful: dict[str, tuple[list[int], list[Values]]] = defaultdict(lambda: ([], []))
        self.decode = _fast_decoder().decode

    def add(self, chunk: list[bytes | str], first: int, errors: list[LineError]) -> None:
        decode, fast = self.decode, self.fast
        for number, raw in enumerate(chunk, start=first):
            try:
                record = decode(raw)
            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                self.add_carefully(raw, number, errors)
                continue
            kept = fast.get(type(record))
            if kept is None:
                kept = fast[type(record)] = ([], [])
            kept[0].append(number)
            kept[1].append(record)

    def add_carefully(self, raw: bytes | str, number: int, errors: list[LineError]) -> None:
        try:
            record_type, values = parse_line(raw)
        except _LineProblem as problem:
            if isinstance(raw, bytes) and not _is_utf8(raw):
                raise NotUtf8(number) from None
            if raw.strip():
                errors.append(problem.at(number))
            return
        kept = self.careful[record_type.name]
        kept[0].append(number)
        kept[1].append(values)

    def rows(self, record_type: RecordType) -> tuple[list[int], list[Values]]:
        """The type's line numbers and rows in file order, instants in microseconds."""
        parts = [
            (numbers, struct.rows(records))
            for struct, (numbers, records) in self.fast.items()
            if struct.record_type is record_type
        ]
        if record_type.name in self.careful:
            parts.append(self.careful[record_type.name])
        return _in_file_order(parts)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _in_file_order(
    parts: list[tuple[list[int], list[Values]]],
) -> tuple[list[int], list[Values]]:
    """One type's rows from both paths, merged back into file order (the last line wins)."""
    if len(parts) < 2:
        return parts[0] if parts else ([], [])
    lines = [n for numbers, _ in parts for n in numbers]
    values = [v for _, rows in parts for v in rows]
    order = sorted(range(len(lines)), key=lines.__getitem__)
    return [lines[i] for i in order], [values[i] for i in order]


def _checked(
    record_type: RecordType, lines: list[int], values: list[Values], errors: list[LineError]
) -> tuple[list[int], list[Values]]:
    """The rows that pass the type's rule across fields; the others become errors."""
    if not record_type.check:
        return lines, values
    kept_lines, kept_values = [], []
    for number, row in zip(lines, values, strict=True):
        try:
            _check(record_type, row)
        except _LineProblem as problem:
            errors.append(problem.at(number))
            continue
        kept_lines.append(number)
        kept_values.append(row)
    return kept_lines, kept_values


class _LineProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message

    def at(self, line: int) -> LineError:
        return LineError(line, self.field, self.message)


# What `parse_line` raises for a line that is not valid: `field` names the field at fault.
LineProblem = _LineProblem


def parse_line(raw: bytes | str) -> tuple[RecordType, Values]:
    """The careful path: one line, field by field, raising a problem that names the field."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _LineProblem("", f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise _LineProblem("", "expected a JSON object")
    record_type = RECORD_TYPES.get(obj.get("type"))  # type: ignore[arg-type]
    if record_type is None:
        known = ", ".join(RECORD_TYPES)
        raise _LineProblem("type", f"unknown type {obj.get('type')!r} (one of {known})")
    unknown = obj.keys() - record_type.allowed
    if unknown:
        raise _LineProblem(min(unknown), "unknown field")
    if record_type is SCHEDULE:
        obj = _with_schedule_spec(obj)
    return record_type, _values(record_type, obj)


def _values(record_type: RecordType, obj: dict[str, Any]) -> Values:
    values = []
    for fd in record_type.fields:
        value = obj.get(fd.key)
        if value is None:
            if fd.required:
                raise _LineProblem(fd.key, "required")
            values.append(fd.default)
            continue
        try:
            values.append(fd.parse(value))
        except FieldError as exc:
            raise _LineProblem(fd.key, str(exc)) from None
    return tuple(values)


def _check(record_type: RecordType, values: Sequence[Any]) -> None:
    if record_type.check:
        keys = (fd.key for fd in record_type.fields)
        try:
            record_type.check(dict(zip(keys, values, strict=True)))
        except FieldError as exc:
            raise _LineProblem("", str(exc)) from None


@cache
def _fast_decoder() -> msgspec.json.Decoder[Any]:
    """One decoder for every type whose fields all declare a msgspec type."""
    structs = [_struct(rt) for rt in RECORD_TYPES.values() if _is_fast(rt)]
    return msgspec.json.Decoder(Union[tuple(structs)])  # noqa: UP007 - a runtime union


def _is_fast(record_type: RecordType) -> bool:
    return record_type is not SCHEDULE and all(fast_type(fd.parse) for fd in record_type.fields)


def _struct(record_type: RecordType) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for i, fd in enumerate(record_type.fields):
        kind = fast_type(fd.parse)
        name = f"f{i}"  # attribute names for `_row_maker`; `rename` maps them to the keys
        if fd.required:
            fields.append((name, kind))
        elif fd.default is None:
            optional = Union[kind, None]  # type: ignore[valid-type]  # noqa: UP007 - run-time type
            fields.append((name, optional, None))
        else:
            # An explicit null takes the careful path, which puts the default in its place.
            fields.append((name, kind, fd.default))
    struct = msgspec.defstruct(
        f"Fast_{record_type.name}",
        fields,
        kw_only=True,
        tag_field="type",
        tag=record_type.name,
        forbid_unknown_fields=True,
        rename={f"f{i}": fd.key for i, fd in enumerate(record_type.fields)},
    )
    # Plain class attributes, read once per type after decoding.
    struct.record_type = record_type  # type: ignore[attr-defined]
    struct.rows = staticmethod(_row_maker(record_type))  # type: ignore[attr-defined]
    return struct


def _row_maker(record_type: RecordType) -> Callable[[list[Any]], list[Values]]:
    """A function made for one record type that turns its decoded records into row tuples,
    instants in microseconds (`to_micros` inlined). It is generated so that a row costs
    one tuple display, not a call per value nor a transpose and back (3x slower)."""
    values = []
    for i, fd in enumerate(record_type.fields):
        value = f"r.f{i}"
        if fd.parse is instant:
            micros = f"({value} - EPOCH) // MICROSECOND"
            value = micros if fd.required else f"(None if {value} is None else {micros})"
        values.append(value)
    source = f"lambda records: [({', '.join(values)},) for r in records]"
    maker: Callable[[list[Any]], list[Values]]
    maker = eval(source, {"EPOCH": EPOCH, "MICROSECOND": MICROSECOND})
    return maker


def _with_schedule_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """A schedule line carries PRODUCT.md 3's fields; the engine validates them whole."""
    from keepwell.domain.hours import ScheduleError, parse_schedule_version

    spec = {k: v for k, v in obj.items() if k not in ("type", "id")}
    try:
        parse_schedule_version(spec)
    except ScheduleError as exc:
        raise _LineProblem(exc.field, exc.message) from None
    return {**obj, "spec": spec}


_ENCODER = msgspec.json.Encoder(order="sorted")


_DIGEST_OFFSET = 1 << 63  # into the signed range of a BIGINT column


def digest(values: Values) -> int:
    """A 64-bit digest of a record's parsed content: equal content, equal digest, whatever
    the line's layout. It detects change, not tampering: CRC-32 and Adler-32 side by side
    cost a third of a cryptographic hash, and a file's author controls its content anyway."""
    data = _ENCODER.encode(values)
    return (zlib.crc32(data) << 32 | zlib.adler32(data)) - _DIGEST_OFFSET


def digests(rows: Iterable[Values]) -> list[int]:
    """`digest` of every row, inlined: no call per row on millions of rows."""
    encode, crc32, adler32, offset = _ENCODER.encode, zlib.crc32, zlib.adler32, _DIGEST_OFFSET
    return [(crc32(data := encode(v)) << 32 | adler32(data)) - offset for v in rows]


def check_references(
    batch: Batch,
    exists: Lookup,
    thread_accounts: ThreadLookup,
    managers: ManagerLookup,
) -> list[LineError]:
    """Every reference must name a record in the file (anywhere in it) or in the database."""
    defined = _defined_ids(batch)
    # (type, field index) -> the ids its lines name that the file does not define
    undefined = {
        (name, fd_index): _ids_named(rows, fd_index) - _union(defined, fd.refers_to)
        for name, rows in batch.rows.items()
        for fd_index, fd in _reference_fields(RECORD_TYPES[name])
    }
    wanted: dict[str, set[str]] = defaultdict(set)
    for (name, fd_index), ids in undefined.items():
        for kind in RECORD_TYPES[name].fields[fd_index].refers_to:
            wanted[kind] |= ids
    stored = {kind: exists(kind, ids) for kind, ids in wanted.items() if ids}
    errors = _unknown_references(batch, undefined, stored)
    errors += _threads_across_accounts(batch, thread_accounts)
    errors += _reviewers(batch, managers)
    return errors


def _ids_named(rows: TypeRows, fd_index: int) -> set[str]:
    named = set(rows.column(fd_index))
    named.discard(None)
    return named


def _union(ids: Mapping[str, set[str]], kinds: Iterable[str]) -> set[str]:
    return set().union(*(ids.get(kind, ()) for kind in kinds))


def _defined_ids(batch: Batch) -> dict[str, set[str]]:
    defined: dict[str, set[str]] = defaultdict(set)
    for name, rows in batch.rows.items():
        record_type = RECORD_TYPES[name]
        if record_type.defines == "thread":
            index = record_type.columns.index("thread_id")
            defined["thread"].update(rows.column(index))
        elif record_type.defines:
            defined[record_type.defines].update(rows.column(0))
    return defined


def _reference_fields(record_type: RecordType) -> list[tuple[int, Field]]:
    return [(i, fd) for i, fd in enumerate(record_type.fields) if fd.refers_to]


def _unknown_references(
    batch: Batch, undefined: dict[tuple[str, int], set[str]], stored: Mapping[str, set[str]]
) -> list[LineError]:
    """The lines naming an id neither the file defines nor the database holds."""
    errors: list[LineError] = []
    for (name, fd_index), ids in undefined.items():
        fd = RECORD_TYPES[name].fields[fd_index]
        unknown = ids - _union(stored, fd.refers_to)
        if not unknown:
            continue
        rows = batch.rows[name]
        kinds = " or ".join(fd.refers_to)
        errors.extend(
            LineError(line, fd.key, f"unknown {kinds} {values[fd_index]!r}")
            for line, values in zip(rows.lines, rows.values, strict=True)
            if values[fd_index] in unknown
        )
    return errors


def _threads_across_accounts(batch: Batch, thread_accounts: ThreadLookup) -> list[LineError]:
    """A thread belongs to one account: a message cannot move it to another."""
    rows = batch.rows.get("message")
    if not rows:
        return []
    threads, accounts = rows.column(2), rows.column(1)
    # The account each thread is first seen with (in dict(), the last of equal keys wins).
    owner = dict(zip(reversed(threads), reversed(accounts), strict=True))
    errors = []
    if any(map(ne, map(owner.__getitem__, threads), accounts)):
        errors += _moved_in_file(rows, owner)
    stored = thread_accounts(set(owner))
    moved = {thread for thread, account in stored.items() if owner.get(thread, account) != account}
    if moved:
        for line, values in zip(rows.lines, rows.values, strict=True):
            thread = values[2]
            if thread in moved and stored[thread] != values[1]:
                message = f"thread {thread!r} belongs to account {stored[thread]!r}"
                errors.append(LineError(line, "thread", message))
    return errors


def _moved_in_file(rows: TypeRows, owner: dict[str, str]) -> list[LineError]:
    """The messages that put a thread in another account than its first message did."""
    threads = rows.column(2)
    # The line of each thread's first message (in dict(), the last of equal keys wins).
    first_line = dict(zip(reversed(threads), reversed(rows.lines), strict=True))
    errors = []
    for line, values in zip(rows.lines, rows.values, strict=True):
        account, thread = values[1], values[2]
        if owner[thread] != account:
            message = (
                f"thread {thread!r} belongs to account {owner[thread]!r} "
                f"(line {first_line[thread]})"
            )
            errors.append(LineError(line, "thread", message))
    return errors


def _reviewers(batch: Batch, managers: ManagerLookup) -> list[LineError]:
    """A review is by the CSM themself (self-review) or by their manager (PRODUCT.md 9)."""
    rows = batch.rows.get("review")
    if not rows:
        return []
    manager_index = USER.columns.index("manager_id")
    users = batch.rows.get("user", TypeRows())
    in_file = {values[0]: values[manager_index] for values in users.values}
    stored = managers({values[0] for values in rows.values} - in_file.keys())
    errors = []
    for line, values in zip(rows.lines, rows.values, strict=True):
        csm, reviewer = values[0], values[2]
        manager = in_file[csm] if csm in in_file else stored.get(csm)
        if reviewer not in (csm, manager):
            message = f"{reviewer!r} is neither the CSM {csm!r} nor their manager"
            errors.append(LineError(line, "reviewer", message))
    return errors


@dataclass
class TypeChanges:
    """What one record type's lines do to the database."""

    inserts: TypeRows = field(default_factory=TypeRows)
    updates: TypeRows = field(default_factory=TypeRows)
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# record type and the key columns of some rows -> {key: stored digest} for the keys among
# them that the database holds
DigestLookup = Callable[[RecordType, list[Sequence[Any]]], dict[Key, int | None]]


def plan_changes(batch: Batch, stored: DigestLookup) -> dict[str, TypeChanges]:
    """Split every type's rows into inserts and updates and count what each line does.

    A line that repeats a record already known (in the database or earlier in the file) with
    the same content is unchanged; with other content it updates it, the last line winning.
    """
    return {name: _plan_type(RECORD_TYPES[name], rows, stored) for name, rows in batch.rows.items()}


def _plan_type(record_type: RecordType, rows: TypeRows, stored: DigestLookup) -> TypeChanges:
    key_columns = [rows.column(i) for i in record_type.key_indexes]
    known = stored(record_type, key_columns) if rows else {}
    changes = TypeChanges()
    if not known and _all_distinct(key_columns):  # the common case: every line a new record
        changes.added = len(rows)
        changes.inserts = rows
        return changes
    keys = list(zip(*key_columns, strict=True))
    last = dict(zip(keys, range(len(keys)), strict=True))  # key -> index of its last line
    current: dict[Key, int | None] = dict(known)
    for key, row_digest in zip(keys, rows.digests, strict=True):
        if key not in current:
            changes.added += 1
        elif current[key] == row_digest:
            changes.unchanged += 1
        else:
            changes.updated += 1
        current[key] = row_digest
    changes.inserts = rows.subset(i for key, i in last.items() if key not in known)
    changes.updates = rows.subset(
        i for key, i in last.items() if key in known and known[key] != rows.digests[i]
    )
    return changes


def _all_distinct(columns: list[Sequence[Any]]) -> bool:
    """Whether no two rows have the same values in `columns`. Their hashes are sorted as
    integers: no two equal hashes, no two equal keys, at a fraction of the cost of a dict
    of millions of keys. Equal hashes are rare, and then the keys themselves decide."""
    count = len(columns[0])
    keys = columns[0] if len(columns) == 1 else zip(*columns, strict=True)
    hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=count)
    hashes.sort()
    if not np.any(hashes[1:] == hashes[:-1]):
        return True
    return len(set(zip(*columns, strict=True))) == count
