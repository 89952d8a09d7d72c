"""Messages -> requests (PRODUCT.md 2 and 3).

A request is an issue raised by a client. It is opened by an inbound message in a thread with
no open request; its first response is the first outbound message after it from a person on
our side (bots and auto-replies excluded, internal notes never count; a message deleted at
the source counts as neither a request nor a response); it is resolved only by
an explicit action (a `resolve`), and escalated by an `escalate`. A message we send that
opens a thread is outreach, not a reply: it opens nothing. Requests are a pure function of a
thread's events, so they can be rebuilt whenever an import adds to or changes a thread, in
any order. Instants are integer microseconds since the Unix epoch, as imports keep them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

INBOUND = "inbound"
OUTBOUND = "outbound"
INTERNAL = "internal"
ESCALATE = "escalate"
RESOLVE = "resolve"

# At one instant, messages come before actions on them: a resolve stamped with the same
# second as the client's message resolves the request that message opened.
RANK = {INBOUND: 0, OUTBOUND: 0, INTERNAL: 0, ESCALATE: 1, RESOLVE: 2}


class ThreadEvent(NamedTuple):
    """One thing that happened in a thread: a message or an action on its request."""

    # The first four fields are the replay order, so events sort as plain tuples.
    thread_id: str
    at: int  # microseconds since the epoch
    rank: int  # RANK[kind]: the order of events at one instant
    ref: str  # the message id, or "" for actions (one per thread and instant)
    kind: str  # inbound | outbound | internal | escalate | resolve
    account_id: str = ""  # messages only
    automated: bool = False  # bots and auto-replies
    deleted: bool = False  # deleted at the source: kept, but counts as neither
    by: str | None = None  # resolve: who resolved it
    note: str | None = None  # resolve: the resolution note
    novel: bool = False  # escalate: the situation was new


class DerivedRequest(NamedTuple):
    id: str  # the id of the inbound message that opened it: stable across rebuilds
    thread_id: str
    account_id: str
    opened_at: int
    first_response_at: int | None
    first_response_id: str | None
    resolved_at: int | None
    resolved_by: str | None
    resolution_note: str | None
    escalated_at: int | None
    escalations: int
    novel: bool
    last_inbound_id: str


def event(thread_id: str, at: int, kind: str, ref: str = "", **rest: Any) -> ThreadEvent:
    """A thread event with its rank filled in from its kind."""
    return ThreadEvent(thread_id, at, RANK[kind], ref, kind, **rest)


@dataclass(frozen=True)
class ThreadMessages:
    """Messages of threads column by column, as an import holds them: no object per message."""

    id: Sequence[str] = ()
    account_id: Sequence[str] = ()
    thread_id: Sequence[str] = ()
    at: Sequence[int] = ()
    direction: Sequence[str] = ()  # inbound | outbound | internal
    automated: Sequence[bool] = ()
    deleted: Sequence[bool] = ()  # empty: none deleted

    def __len__(self) -> int:
        return len(self.id)

    def __add__(self, other: ThreadMessages) -> ThreadMessages:
        return _joined(self, other)


@dataclass(frozen=True)
class ThreadActions:
    """Resolves and escalations of threads column by column."""

    thread_id: Sequence[str] = ()
    at: Sequence[int] = ()
    kind: Sequence[str] = ()  # escalate | resolve
    by: Sequence[str | None] = ()
    note: Sequence[str | None] = ()  # resolves only
    novel: Sequence[bool] = ()  # escalations only

    def __len__(self) -> int:
        return len(self.thread_id)

    def __add__(self, other: ThreadActions) -> ThreadActions:
        return _joined(self, other)

    @classmethod
    def resolves(
        cls,
        thread_id: Sequence[str],
        at: Sequence[int],
        by: Sequence[str | None],
        note: Sequence[str | None],
    ) -> ThreadActions:
        n = len(thread_id)
        return cls(thread_id, at, [RESOLVE] * n, by, note, [False] * n)

    @classmethod
    def escalations(
        cls,
        thread_id: Sequence[str],
        at: Sequence[int],
        by: Sequence[str | None],
        novel: Sequence[bool],
    ) -> ThreadActions:
        n = len(thread_id)
        return cls(thread_id, at, [ESCALATE] * n, by, [None] * n, novel)


def _joined(first: Any, second: Any) -> Any:
    """Two column sets of one kind as one; either alone when the other is empty (no copy)."""
    if not len(second):
        return first
    if not len(first):
        return second
    names = [f.name for f in fields(first)]
    return type(first)(*([*getattr(first, n), *getattr(second, n)] for n in names))


class RequestColumns(NamedTuple):
    """`DerivedRequest`s column by column, in the same field order."""

    id: list[str]
    thread_id: list[str]
    account_id: list[str]
    opened_at: list[int]
    first_response_at: list[int | None]
    first_response_id: list[str | None]
    resolved_at: list[int | None]
    resolved_by: list[str | None]
    resolution_note: list[str | None]
    escalated_at: list[int | None]
    escalations: list[int]
    novel: list[bool]
    last_inbound_id: list[str]


def derive_requests(events: Iterable[ThreadEvent]) -> Iterator[DerivedRequest]:
    """Every request of the given threads, in thread and time order.

    `events` may come in any order and mix threads; each thread is replayed from its first
    event. Actions that find no open request (a resolve after the request was resolved, an
    escalation in a thread of outreach) change nothing.
    """
    # Sorted first so that threads come out in id order (the replay keeps first-seen order).
    ordered = sorted(events)
    messages = [e for e in ordered if e.kind not in (ESCALATE, RESOLVE)]
    actions = [e for e in ordered if e.kind in (ESCALATE, RESOLVE)]
    columns = derive_request_columns(
        ThreadMessages(
            [e.ref for e in messages],
            [e.account_id for e in messages],
            [e.thread_id for e in messages],
            [e.at for e in messages],
            [e.kind for e in messages],
            [e.automated for e in messages],
            [e.deleted for e in messages],
        ),
        ThreadActions(
            [e.thread_id for e in actions],
            [e.at for e in actions],
            [e.kind for e in actions],
            [e.by for e in actions],
            [e.note for e in actions],
            [e.novel for e in actions],
        ),
    )
    return map(DerivedRequest._make, zip(*columns, strict=True))


# Kinds as small integers for the arrays; the rank of each, indexed by that integer.
_KINDS = (INBOUND, OUTBOUND, INTERNAL, ESCALATE, RESOLVE)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}
_RANK_BY_CODE = np.array([RANK[kind] for kind in _KINDS], dtype=np.int8)
_INBOUND, _OUTBOUND, _ESCALATE, _RESOLVE = (
    _KIND_CODE[k] for k in (INBOUND, OUTBOUND, ESCALATE, RESOLVE)
)


def derive_request_columns(messages: ThreadMessages, actions: ThreadActions) -> RequestColumns:
    """The replay of `derive_requests` as array operations, for millions of events.

    Events (the messages, then the actions) are put in replay order: thread, time, rank,
    message id. Each thread is cut into segments that end at a resolve: a request lives
    within one segment, opened by its first inbound message from the client. What follows
    the opener in its segment answers and escalates it, and a resolve that ends the segment
    resolves it.
    """
    count = len(messages)
    if not count:
        return RequestColumns(*([] for _ in RequestColumns._fields))
    events = _Events(messages, actions)
    order = events.replay_order()
    kind, automated = events.kind[order], events.automated[order]
    segments = _Segments(events.thread[order], kind == _RESOLVE)
    opens = (kind == _INBOUND) & ~automated
    opener = segments.first(opens)
    requests = np.flatnonzero(opener >= 0)  # the segments that open a request
    # An event counts for a request when it comes at or after the opener of its segment.
    active = np.arange(len(order)) >= np.where(opener >= 0, opener, len(order))[segments.of_event]
    escalates = active & (kind == _ESCALATE)
    last = segments.last_event

    def event_of(in_replay: np.ndarray, offset: int = 0) -> np.ndarray:
        """Each request's event from replay positions (-1 for none), as an index into the
        messages (offset 0) or the actions (offset: the number of messages)."""
        positions = in_replay[requests]
        return np.where(positions >= 0, order[positions] - offset, -1)

    opened = event_of(opener)
    answered = event_of(segments.first(active & (kind == _OUTBOUND) & ~automated))
    resolved = event_of(np.where(kind[last] == _RESOLVE, last, -1), count)
    novel = escalates & events.novel[order]
    return RequestColumns(
        id=_take(messages.id, opened),
        thread_id=_take(messages.thread_id, opened),
        account_id=_take(messages.account_id, opened),
        opened_at=events.at[opened].tolist(),
        first_response_at=_take_instants(events.at, answered),
        first_response_id=_take(messages.id, answered),
        resolved_at=_take_instants(events.at, np.where(resolved >= 0, resolved + count, -1)),
        resolved_by=_take(actions.by, resolved),
        resolution_note=_take(actions.note, resolved),
        escalated_at=_take_instants(events.at, event_of(segments.first(escalates))),
        escalations=segments.count(escalates)[requests].tolist(),
        novel=(segments.count(novel)[requests] > 0).tolist(),
        last_inbound_id=_take(messages.id, event_of(segments.last(active & opens))),
    )


class _Events:
    """The messages and then the actions as arrays, one entry per event."""

    def __init__(self, messages: ThreadMessages, actions: ThreadActions) -> None:
        count, total = len(messages), len(messages) + len(actions)
        self.refs = messages.id
        self.kind = np.concatenate((_kind_codes(messages.direction), _kind_codes(actions.kind)))
        self.at = np.concatenate(
            (np.array(messages.at, dtype=np.int64), np.array(actions.at, dtype=np.int64))
        )
        self.thread = _codes(chain(messages.thread_id, actions.thread_id), total)
        # Messages that never open a request nor answer one: bots and auto-replies, and
        # messages deleted at the source (kept for the record, PRODUCT.md 8).
        self.automated = np.zeros(total, dtype=bool)
        self.automated[:count] = messages.automated
        if len(messages.deleted):
            self.automated[:count] |= np.asarray(messages.deleted, dtype=bool)
        self.novel = np.zeros(total, dtype=bool)
        self.novel[count:] = actions.novel

    def replay_order(self) -> np.ndarray:
        """Indexes of the events in replay order: thread, time, rank, then message id. Ids
        only matter between messages of one thread at one instant, so those few runs are
        sorted by id in Python rather than every id being ranked."""
        ranks = _RANK_BY_CODE[self.kind]
        order = np.lexsort((ranks, self.at, self.thread))
        key = (self.thread[order], self.at[order], ranks[order])
        tied = np.logical_and.reduce([k[1:] == k[:-1] for k in key])
        if tied.any():
            edges = np.diff(np.concatenate(([0], tied.view(np.int8), [0])))
            starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) + 1
            for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
                order[start:stop] = sorted(order[start:stop].tolist(), key=self.refs.__getitem__)
        return order


def _kind_codes(kinds: Sequence[str]) -> np.ndarray:
    return np.fromiter(map(_KIND_CODE.__getitem__, kinds), dtype=np.int8, count=len(kinds))


def _codes(values: Iterable[str], count: int) -> np.ndarray:
    """Each value as a small integer, in order of first appearance. One pass through one
    dict: equal ids are distinct objects, so every look-up reads the text, and passes over
    millions of them are what costs."""
    index: dict[str, int] = {}
    codes = [index.setdefault(value, len(index)) for value in values]
    return np.array(codes, dtype=np.int64) if count else np.zeros(0, dtype=np.int64)


class _Segments:
    """Runs of events in replay order that start a thread or follow a resolve."""

    def __init__(self, threads: np.ndarray, resolves: np.ndarray) -> None:
        starts = np.ones(len(threads), dtype=bool)
        starts[1:] = (threads[1:] != threads[:-1]) | resolves[:-1]
        self.of_event = np.cumsum(starts) - 1
        first_events = np.flatnonzero(starts)
        self.size = len(first_events)
        self.last_event = np.append(first_events[1:] - 1, len(threads) - 1)

    def first(self, where: np.ndarray) -> np.ndarray:
        """Per segment, the position of its first event where `where` holds, or -1."""
        positions = np.flatnonzero(where)
        segments = self.of_event[positions]
        first = np.ones(len(positions), dtype=bool)
        first[1:] = segments[1:] != segments[:-1]
        out = np.full(self.size, -1, dtype=np.int64)
        out[segments[first]] = positions[first]
        return out

    def last(self, where: np.ndarray) -> np.ndarray:
        """Per segment, the position of its last event where `where` holds, or -1."""
        positions = np.flatnonzero(where)
        segments = self.of_event[positions]
        last = np.ones(len(positions), dtype=bool)
        last[:-1] = segments[1:] != segments[:-1]
        out = np.full(self.size, -1, dtype=np.int64)
        out[segments[last]] = positions[last]
        return out

    def count(self, where: np.ndarray) -> np.ndarray:
        return np.bincount(self.of_event[where], minlength=self.size)


def _take(values: Sequence[Any], indexes: np.ndarray) -> list[Any]:
    """values[i] for each index, None where the index is -1. Only the values asked for are
    read: turning millions of them into an array first would cost more than the picking."""
    found = indexes >= 0
    picked = [values[i] for i in indexes[found].tolist()]
    if len(picked) == len(indexes):
        return picked
    out = np.full(len(indexes), None, dtype=object)
    out[found] = picked
    return out.tolist()


def _take_instants(times: np.ndarray, indexes: np.ndarray) -> list[int | None]:
    """times[i] as Python ints for each index, None where the index is -1."""
    found = indexes >= 0
    out = np.full(len(indexes), None, dtype=object)
    out[found] = times[indexes[found]]
    return out.tolist()
