"""The priority inbox (PRODUCT.md 1 and 3): a CSM's requests waiting for a first response or
a resolution, by business time left before the deadline, breached first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from keepwell.domain.hours import business_day_seconds, to_micros
from keepwell.domain.sla import time_left_words
from keepwell.services.ownership import owner_at
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules
from keepwell.store.models import Account, Message, Request, User

FIRST_RESPONSE = "first response"
RESOLUTION = "resolution"


class UnknownUser(LookupError):
    pass


@dataclass(frozen=True)
class InboxItem:
    request_id: str
    account_id: str
    account_name: str
    thread_id: str
    waiting_for: str  # FIRST_RESPONSE | RESOLUTION
    opened_at: datetime
    due: datetime
    seconds_left: float  # business seconds; negative once breached
    time_left: str  # "38 min left", "2 h 10 min overdue"
    last_client_message: str | None
    last_client_message_at: datetime | None
    escalated: bool = False  # escalated by `now`
    novel: bool = False  # escalated as a novel situation


def inbox(session: Session, csm_id: str, now: datetime) -> list[InboxItem]:
    """Every request open at `now` on the accounts `csm_id` owns at `now`, most urgent
    first, each as it stood at `now`: a request opened later is not there yet, and one
    answered or resolved later is still waiting at `now`."""
    if session.get(User, csm_id) is None:
        raise UnknownUser(f"no user {csm_id!r}")
    still_open = or_(Request.resolved_at.is_(None), Request.resolved_at > now)
    found = session.execute(
        select(Request, Account.name, Message.text, Message.at)
        .join(Account, Account.id == Request.account_id)
        .outerjoin(Message, Message.id == Request.last_inbound_id)
        .where(owner_at(now) == csm_id, Request.opened_at <= now, still_open)
    ).all()
    if not found:
        return []
    rows = _last_client_messages_at(session, found, now)
    calendars = Calendars(load_schedules(session))
    requests = [row[0] for row in rows]
    left = _seconds_left(calendars, requests, now)
    items = [
        _item(request, name, text, at, seconds, _day_length(calendars, request.schedule_id), now)
        for (request, name, text, at), seconds in zip(rows, left, strict=True)
    ]
    return sorted(items, key=lambda item: (item.seconds_left, item.opened_at, item.request_id))


Row = tuple[Request, str, str | None, datetime | None]  # request, account, last client text, at
Said = tuple[datetime, str | None]  # an inbound message: when, and its text


def _last_client_messages_at(session: Session, found: Sequence[Any], now: datetime) -> list[Row]:
    """The rows with the last client message each request had at `now`: the stored one
    is the last of all, which a client may have sent after `now`."""
    rows: list[Row] = [(row[0], row[1], row[2], row[3]) for row in found]
    later = {request.thread_id for request, _, _, at in rows if at is not None and at > now}
    if not later:
        return rows
    inbound = session.execute(
        select(Message.thread_id, Message.at, Message.text)
        .where(Message.thread_id.in_(later), Message.direction == "inbound", Message.at <= now)
        .order_by(Message.at, Message.id)
    ).all()
    by_thread: dict[str, list[Said]] = defaultdict(list)
    for thread, at, text in inbound:
        by_thread[thread].append((at, text))
    return [_as_at(row, by_thread, now) for row in rows]


def _as_at(row: Row, by_thread: dict[str, list[Said]], now: datetime) -> Row:
    request, name, _, at = row
    if at is None or at <= now:
        return row
    # The request opened with an inbound message at or before now: there is one.
    mine = [said for said in by_thread[request.thread_id] if said[0] >= request.opened_at]
    return (request, name, mine[-1][1], mine[-1][0]) if mine else (request, name, None, None)


def _waiting_for(request: Request, now: datetime) -> str:
    answered = request.first_response_at is not None and request.first_response_at <= now
    return RESOLUTION if answered else FIRST_RESPONSE


def _due(request: Request, now: datetime) -> datetime | None:
    if _waiting_for(request, now) == FIRST_RESPONSE:
        return request.first_response_due
    return request.resolution_due


def _day_length(calendars: Calendars, schedule_id: str | None) -> float:
    schedule = calendars.schedules.get(schedule_id or ALWAYS_OPEN, calendars.schedules[ALWAYS_OPEN])
    return float(business_day_seconds(schedule.versions[-1]))


def _seconds_left(calendars: Calendars, requests: list[Request], now: datetime) -> list[float]:
    """Business seconds from now to each deadline (negative: from the deadline to now)."""
    by_schedule: dict[str, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        by_schedule[request.schedule_id or ALWAYS_OPEN].append(index)
    out = [0.0] * len(requests)
    now_micros = to_micros(now)
    for schedule_id, indexes in by_schedule.items():
        due = np.array([to_micros(_due(requests[i], now) or now) for i in indexes], dtype=np.int64)
        start = np.minimum(due, now_micros)
        end = np.maximum(due, now_micros)
        spans = calendars[schedule_id].between(start, end) / 1e6
        signs = np.where(due >= now_micros, 1.0, -1.0)
        for i, value in zip(indexes, spans * signs, strict=True):
            out[i] = float(value)
    return out


def _item(
    request: Request,
    name: str,
    text: str | None,
    at: datetime | None,
    seconds: float,
    business_day: float,
    now: datetime,
) -> InboxItem:
    return InboxItem(
        request_id=request.id,
        account_id=request.account_id,
        account_name=name,
        thread_id=request.thread_id,
        waiting_for=_waiting_for(request, now),
        opened_at=request.opened_at,
        due=_due(request, now) or request.opened_at,
        seconds_left=seconds,
        time_left=time_left_words(seconds, business_day),
        last_client_message=text,
        last_client_message_at=at,
        escalated=request.escalated_at is not None and request.escalated_at <= now,
        novel=request.novel and request.escalated_at is not None and request.escalated_at <= now,
    )
