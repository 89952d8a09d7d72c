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
from datetime import datetime
from functools import cache
from typing import Any, Union

import msgspec
import orjson

from keepwell.ingest.fields import FieldError, fast_type, instant
from keepwell.ingest.records import RECORD_TYPES, SCHEDULE, USER, Field, RecordType
from keepwell.store.types import to_micros

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


@dataclass
class TypeRows:
    """One type's valid lines, column-parsed: parallel lists of line numbers, values, digests."""

    lines: list[int] = field(default_factory=list)
    values: list[Values] = field(default_factory=list)
    digests: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def without(self, bad: set[int]) -> TypeRows:
        keep = [i for i, line in enumerate(self.lines) if line not in bad]
        return TypeRows(
            [self.lines[i] for i in keep],
            [self.values[i] for i in keep],
            [self.digests[i] for i in keep],
        )


@dataclass
class Batch:
    """The valid lines of one file, grouped by type, in file order."""

    rows: dict[str, TypeRows] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0

    def drop_lines(self, bad: set[int]) -> None:
        self.rows = {name: rows.without(bad) for name, rows in self.rows.items()}


def parse_lines(
    lines: Iterable[bytes | str],
    on_progress: Callable[[int], None] | None = None,
) -> Batch:
    """Parse and validate every line; errors are collected, never raised.

    Each line is first decoded by msgspec straight into a typed record (C speed, the rules of
    `fields` expressed as types); a line it rejects, or of a type it does not handle, goes
    through the field parsers, which accept the same and name what is wrong.
    """
    batch = Batch()
    numbers: dict[str, list[int]] = defaultdict(list)
    rows: dict[str, list[Values]] = defaultdict(list)
    decode = _fast_decoder().decode
    number = 0
    for number, raw in enumerate(lines, start=1):
        if on_progress and number % 50_000 == 0:
            on_progress(number)
        try:
            record = decode(raw)
            name, values = record.type_name, _fast_values(record)
        except (msgspec.ValidationError, msgspec.DecodeError, FieldError):
            try:
                record_type, values = parse_line(raw)
            except _LineProblem as problem:
                if raw.strip():
                    batch.errors.append(problem.at(number))
                continue
            name = record_type.name
        numbers[name].append(number)
        rows[name].append(values)
    batch.lines = number
    if on_progress:
        on_progress(number)
    for name in rows:
        batch.rows[name] = TypeRows(numbers[name], rows[name], list(map(digest, rows[name])))
    return batch


class _LineProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message

    def at(self, line: int) -> LineError:
        return LineError(line, self.field, self.message)


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
    _check(record_type, values)
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
    for fd in record_type.fields:
        kind = fast_type(fd.parse)
        optional = Union[kind, None]  # type: ignore[valid-type]  # noqa: UP007 - run-time type
        fields.append((fd.key, kind) if fd.required else (fd.key, optional, fd.default))
    struct = msgspec.defstruct(
        f"Fast_{record_type.name}",
        fields,
        kw_only=True,
        tag_field="type",
        tag=record_type.name,
        forbid_unknown_fields=True,
    )
    # Plain class attributes, read per line: cheaper than any lookup keyed by the type.
    struct.type_name = record_type.name  # type: ignore[attr-defined]
    struct.record_type = record_type  # type: ignore[attr-defined]
    struct.to_check = tuple(  # type: ignore[attr-defined]
        i
        for i, fd in enumerate(record_type.fields)
        if fd.parse is instant or fd.default is not None
    )
    return struct


def _fast_values(record: Any) -> Values:
    """A decoded record as the careful path gives it: defaults filled, instants in micros."""
    values = msgspec.structs.astuple(record)
    if record.to_check:
        values = _adjusted(record.record_type, values, record.to_check)
    if record.record_type.check:
        try:
            _check(record.record_type, values)
        except _LineProblem as problem:
            raise FieldError(problem.message) from None
    return values


def _adjusted(record_type: RecordType, values: Values, indexes: tuple[int, ...]) -> Values:
    out = list(values)
    for i in indexes:
        value = out[i]
        if value is None:
            out[i] = record_type.fields[i].default
        elif isinstance(value, datetime):
            out[i] = to_micros(value)
    return tuple(out)


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


def digest(values: Values) -> int:
    """A 64-bit digest of a record's parsed content: equal content, equal digest, whatever
    the line's layout. It detects change, not tampering: CRC-32 and Adler-32 side by side
    cost a third of a cryptographic hash, and a file's author controls its content anyway."""
    data = _ENCODER.encode(values)
    return (zlib.crc32(data) << 32 | zlib.adler32(data)) - (1 << 63)


def check_references(
    batch: Batch,
    exists: Lookup,
    thread_accounts: ThreadLookup,
    managers: ManagerLookup,
) -> list[LineError]:
    """Every reference must name a record in the file (anywhere in it) or in the database."""
    defined = _defined_ids(batch)
    wanted: dict[str, set[str]] = defaultdict(set)
    for name, rows in batch.rows.items():
        for fd_index, fd in _reference_fields(RECORD_TYPES[name]):
            named = {values[fd_index] for values in rows.values}
            named.discard(None)
            for kind in fd.refers_to:
                named -= defined[kind]
            for kind in fd.refers_to:
                wanted[kind] |= named
    known = {kind: defined[kind] | exists(kind, ids) for kind, ids in wanted.items() if ids}
    errors = _unknown_references(batch, {**defined, **known})
    errors += _threads_across_accounts(batch, thread_accounts)
    errors += _reviewers(batch, managers)
    return errors


def _defined_ids(batch: Batch) -> dict[str, set[str]]:
    defined: dict[str, set[str]] = defaultdict(set)
    for name, rows in batch.rows.items():
        record_type = RECORD_TYPES[name]
        if record_type.defines == "thread":
            index = record_type.columns.index("thread_id")
            defined["thread"].update(values[index] for values in rows.values)
        elif record_type.defines:
            defined[record_type.defines].update(values[0] for values in rows.values)
    return defined


def _reference_fields(record_type: RecordType) -> list[tuple[int, Field]]:
    return [(i, fd) for i, fd in enumerate(record_type.fields) if fd.refers_to]


def _unknown_references(batch: Batch, known: Mapping[str, set[str]]) -> list[LineError]:
    errors: list[LineError] = []
    for name, rows in batch.rows.items():
        for fd_index, fd in _reference_fields(RECORD_TYPES[name]):
            named = {values[fd_index] for values in rows.values}
            named.discard(None)
            for kind in fd.refers_to:
                named -= known.get(kind, set())
            if not named:
                continue
            kinds = " or ".join(fd.refers_to)
            errors.extend(
                LineError(line, fd.key, f"unknown {kinds} {values[fd_index]!r}")
                for line, values in zip(rows.lines, rows.values, strict=True)
                if values[fd_index] in named
            )
    return errors


def _threads_across_accounts(batch: Batch, thread_accounts: ThreadLookup) -> list[LineError]:
    """A thread belongs to one account: a message cannot move it to another."""
    rows = batch.rows.get("message")
    if not rows:
        return []
    owner: dict[str, str] = {}
    first_line: dict[str, int] = {}
    errors = []
    for line, values in zip(rows.lines, rows.values, strict=True):
        account, thread = values[1], values[2]
        if owner.setdefault(thread, account) != account:
            first_line.setdefault(thread, next(_lines_of(rows, thread)))
            message = (
                f"thread {thread!r} belongs to account {owner[thread]!r} "
                f"(line {first_line[thread]})"
            )
            errors.append(LineError(line, "thread", message))
    stored = thread_accounts(set(owner))
    moved = {thread for thread, account in stored.items() if owner.get(thread, account) != account}
    for line, values in zip(rows.lines, rows.values, strict=True):
        thread = values[2]
        if thread in moved and stored[thread] != values[1]:
            message = f"thread {thread!r} belongs to account {stored[thread]!r}"
            errors.append(LineError(line, "thread", message))
    return errors


def _lines_of(rows: TypeRows, thread: str) -> Iterator[int]:
    return (
        line for line, values in zip(rows.lines, rows.values, strict=True) if values[2] == thread
    )


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

    inserts: list[Values] = field(default_factory=list)
    updates: list[Values] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# record type and keys -> {key: stored digest} for the keys the database holds
DigestLookup = Callable[[RecordType, list[Key]], dict[Key, int | None]]


def plan_changes(batch: Batch, stored: DigestLookup) -> dict[str, TypeChanges]:
    """Split every type's rows into inserts and updates and count what each line does.

    A line that repeats a record already known (in the database or earlier in the file) with
    the same content is unchanged; with other content it updates it, the last line winning.
    """
    return {name: _plan_type(RECORD_TYPES[name], rows, stored) for name, rows in batch.rows.items()}


def _plan_type(record_type: RecordType, rows: TypeRows, stored: DigestLookup) -> TypeChanges:
    keys = _keys(record_type, rows.values)
    last = dict(zip(keys, range(len(keys)), strict=True))  # key -> index of its last line
    known = stored(record_type, list(last)) if last else {}
    changes = TypeChanges()
    if not known and len(last) == len(keys):  # the common case: every line a new record
        changes.added = len(keys)
        changes.inserts = [(*v, d) for v, d in zip(rows.values, rows.digests, strict=True)]
        return changes
    current: dict[Key, int | None] = dict(known)
    for key, row_digest in zip(keys, rows.digests, strict=True):
        if key not in current:
            changes.added += 1
        elif current[key] == row_digest:
            changes.unchanged += 1
        else:
            changes.updated += 1
        current[key] = row_digest
    for key, i in last.items():
        row = (*rows.values[i], rows.digests[i])
        if key not in known:
            changes.inserts.append(row)
        elif known[key] != rows.digests[i]:
            changes.updates.append(row)
    return changes


def _keys(record_type: RecordType, values: list[Values]) -> list[Key]:
    indexes = record_type.key_indexes
    if len(indexes) == 1:
        (i,) = indexes
        return [(v[i],) for v in values]
    return [tuple(v[i] for i in indexes) for v in values]
