"""Messages -> requests (PRODUCT.md 2 and 3).

A request is an issue raised by a client. It is opened by an inbound message in a thread with
no open request; its first response is the first outbound message after it from a person on
our side (bots and auto-replies excluded, internal notes never count); it is resolved only by
an explicit action (a `resolve`), and escalated by an `escalate`. A message we send that
opens a thread is outreach, not a reply: it opens nothing. Requests are a pure function of a
thread's events, so they can be rebuilt whenever an import adds to or changes a thread, in
any order. Instants are integer microseconds since the Unix epoch, as imports keep them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from typing import Any, NamedTuple

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


def derive_requests(events: Iterable[ThreadEvent]) -> Iterator[DerivedRequest]:
    """Every request of the given threads, in thread and time order.

    `events` may come in any order and mix threads; each thread is replayed from its first
    event. Actions that find no open request (a resolve after the request was resolved, an
    escalation in a thread of outreach) change nothing.
    """
    ordered = sorted(events)  # tuple order: thread, time, rank, message id
    for _thread, thread_events in groupby(ordered, key=attrgetter("thread_id")):
        yield from _replay(list(thread_events))


@dataclass(slots=True)
class _OpenRequest:
    opened_by: ThreadEvent
    first_response: ThreadEvent | None = None
    escalated_at: int | None = None
    escalations: int = 0
    novel: bool = False
    last_inbound_id: str = ""

    def close(self, resolve: ThreadEvent | None) -> DerivedRequest:
        opened, answer = self.opened_by, self.first_response
        return DerivedRequest(
            id=opened.ref,
            thread_id=opened.thread_id,
            account_id=opened.account_id,
            opened_at=opened.at,
            first_response_at=answer.at if answer else None,
            first_response_id=answer.ref if answer else None,
            resolved_at=resolve.at if resolve else None,
            resolved_by=resolve.by if resolve else None,
            resolution_note=resolve.note if resolve else None,
            escalated_at=self.escalated_at,
            escalations=self.escalations,
            novel=self.novel,
            last_inbound_id=self.last_inbound_id or opened.ref,
        )


def _replay(events: list[ThreadEvent]) -> Iterator[DerivedRequest]:
    current: _OpenRequest | None = None
    for event in events:
        if event.kind == INBOUND and not event.automated:
            current = current or _OpenRequest(opened_by=event)
            current.last_inbound_id = event.ref
        elif current is None:
            continue
        elif event.kind == OUTBOUND and not event.automated:
            current.first_response = current.first_response or event
        elif event.kind == ESCALATE:
            current.escalations += 1
            current.escalated_at = current.escalated_at or event.at
            current.novel = current.novel or event.novel
        elif event.kind == RESOLVE:
            yield current.close(event)
            current = None
    if current is not None:
        yield current.close(None)
