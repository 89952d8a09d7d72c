"""The monthly CSM scorecard use case (PRODUCT.md 4): gather each CSM's facts as of the
evaluation moment, with business time from the SLA clocks, and score them in the domain."""

from __future__ import annotations

import calendar
import functools
import itertools
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, and_, exists, select
from sqlalchemy.orm import Session, aliased

from keepwell.domain import scorecard as sc
from keepwell.domain.hours import to_micros, versions_on
from keepwell.domain.revenue import day_start
from keepwell.domain.targets import DEFAULT_TARGETS, Targets
from keepwell.services.batch import gc_paused
from keepwell.services.schedules import ALWAYS_OPEN, Calendars, load_schedules, owner_schedules
from keepwell.services.sla import owner_histories
from keepwell.store import bulk
from keepwell.store.models import (
    Account,
    Activity,
    Base,
    Churn,
    KeptScorecard,
    Message,
    MrrChange,
    NextStep,
    Review,
    User,
)
from keepwell.store.upsert import insert

ASK_KINDS = ("testimonial_request", "case_study_request")
# Loaded a little wider than the month: weeks and the CSM's zone reach past its UTC edges.
MARGIN = timedelta(days=8)
# Testimonial asks count over the 180 days before a month's end (PRODUCT.md 4), read wider.
ASK_WINDOW = timedelta(days=sc.TESTIMONIAL_WINDOW_DAYS + 2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REQUESTS = Base.metadata.tables["requests"]


class UnknownCsm(LookupError):
    pass


def scorecards(
    session: Session,
    month: str,
    as_of: datetime,
    *,
    csm_id: str | None = None,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> list[sc.Scorecard]:
    """Every CSM's scorecard of `month` at `as_of` (or one CSM's), triggers included: the
    previous month is scored at the same moment to compare with (PRODUCT.md 4)."""
    cards = scorecards_of_months(
        session, [month], as_of, csm_id=csm_id, targets=targets, company_timezone=company_timezone
    )
    return cards[month]  # a month not started yet raised sc.ScorecardError


def scorecards_of_months(
    session: Session,
    months: Sequence[str],
    as_of: datetime,
    *,
    csm_id: str | None = None,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
    skip_unstarted: bool = False,
) -> dict[str, list[sc.Scorecard]]:
    """Every CSM's scorecards of several months at `as_of`, by month: the book is read once
    and each month's triggers compare with the month before, scored once (PRODUCT.md 4).
    A month that has not started at `as_of` for a CSM raises sc.ScorecardError, or is left
    out with `skip_unstarted`."""
    wanted = sorted(set(months))
    chain = _with_months_between([sc.previous_month(wanted[0]), *wanted])
    csms = _csms(session, csm_id)
    with gc_paused():
        return _score(
            _Facts(session, company_timezone, chain, as_of),
            csms,
            chain,
            wanted,
            targets,
            skip_unstarted,
        )


def _score(
    facts: _Facts,
    csms: Sequence[User],
    chain: list[str],
    wanted: list[str],
    targets: Targets,
    skip_unstarted: bool,
) -> dict[str, list[sc.Scorecard]]:
    """Each CSM's months in order, each month's triggers against the card before it."""
    as_of = facts.as_of
    cards: dict[str, list[sc.Scorecard]] = {month: [] for month in wanted}
    for user in csms:
        before: list[sc.Scorecard] = []
        for month in chain:
            if skip_unstarted and as_of < facts.month_start(user, month):
                break
            card = sc.score_csm(facts.inputs(user, month), targets, previous=before[-1:])
            before = [card]
            if month in cards:
                cards[month].append(card)
    return cards


def history(
    session: Session,
    csm_id: str,
    last_month: str,
    as_of: datetime,
    months: int = 12,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> list[sc.Scorecard]:
    """A CSM's last `months` scorecards up to `last_month`, oldest first, triggers chained."""
    names = [last_month]
    while len(names) < months:
        names.insert(0, sc.previous_month(names[0]))
    cards = scorecards_of_months(
        session,
        names,
        as_of,
        csm_id=csm_id,
        targets=targets,
        company_timezone=company_timezone,
        skip_unstarted=True,
    )
    return [card for name in names for card in cards[name]]


def closing_moment(month: str, company_timezone: str) -> datetime:
    """When a month's scorecards are kept (issue 14 §5): the first instant of the month after,
    company zone. A kept month is always evaluated at it, so keeping it again gives the
    same cards unless the book, the schedules or the targets changed."""
    year, number = (int(part) for part in month.split("-"))
    return day_start(_first_of_next(year, number), company_timezone)


def last_closed_month(now: datetime, company_timezone: str) -> str:
    """The month that ended last in the company zone, as "YYYY-MM"."""
    return sc.previous_month(now.astimezone(ZoneInfo(company_timezone)).strftime("%Y-%m"))


def keep_scorecards(
    session: Session,
    month: str,
    now: datetime,
    *,
    targets: Targets = DEFAULT_TARGETS,
    company_timezone: str = "UTC",
) -> int:
    """Keep every CSM's scorecard of the closed `month`, evaluated at its `closing_moment`
    (one row per CSM and month: keeping a month again replaces its cards). How many kept."""
    as_of = closing_moment(month, company_timezone)
    cards = scorecards(session, month, as_of, targets=targets, company_timezone=company_timezone)
    if not cards:
        return 0
    rows = [
        {"month": month, "csm_id": card.csm, "as_of": as_of, "total": card.total,
         "band": card.band, "card": card.to_json(), "kept_at": now}
        for card in cards
    ]  # fmt: skip
    statement = insert(session, KeptScorecard.__table__).values(rows)
    changes = {
        name: statement.excluded[name] for name in ("as_of", "total", "band", "card", "kept_at")
    }
    session.execute(
        statement.on_conflict_do_update(index_elements=["month", "csm_id"], set_=changes)
    )
    return len(rows)


def kept_months(session: Session, since: str | None = None) -> list[str]:
    """The months whose scorecards are kept (from `since` on), oldest first."""
    query = select(KeptScorecard.month).distinct().order_by(KeptScorecard.month)
    if since is not None:
        query = query.where(KeptScorecard.month >= since)
    return list(session.scalars(query))


def _with_months_between(months: list[str]) -> list[str]:
    """The months from the first to the last, none skipped (triggers chain month to month)."""
    chain = [months[0]]
    while chain[-1] < months[-1]:
        year, number = (int(part) for part in chain[-1].split("-"))
        chain.append(f"{year + number // 12:04d}-{number % 12 + 1:02d}")
    return chain


def _csms(session: Session, csm_id: str | None) -> Sequence[User]:
    query = select(User).where(User.role == "csm").order_by(User.id)
    if csm_id is not None:
        query = select(User).where(User.id == csm_id)
    users = session.scalars(query).all()
    if csm_id is not None and not users:
        raise UnknownCsm(f"no user {csm_id!r}")
    return users


class _Facts:
    """The book's facts over a run of months at one evaluation moment, read once, filed by
    account and owner, and cut per CSM and month: a team's year is read in a few queries."""

    def __init__(
        self, session: Session, company_timezone: str, months: list[str], as_of: datetime
    ) -> None:
        self.session = session
        self.connection: Connection = session.connection()
        self.tz = company_timezone
        self.as_of = as_of
        self.schedules = load_schedules(session)
        self.calendars = Calendars(self.schedules)
        self.histories = owner_histories(self.connection)
        self.user_clocks = owner_schedules(self.connection)
        self.lo = _utc_first(months[0]) - MARGIN
        self.hi = _utc_first(_next_month(months[-1])) + MARGIN
        self.accounts = self._accounts()
        self.requests = self._requests()
        self.touches = self._by_account(self._touches(), sc.Touch)
        self.asks = self._by_account(self._asks(), sc.Ask)
        self.next_steps = self._next_steps()
        self.reviews = self._reviews()

    def month_start(self, user: User, month: str) -> datetime:
        year, number = (int(part) for part in month.split("-"))
        return day_start(date(year, number, 1), user.timezone)

    def inputs(self, user: User, month: str) -> sc.ScorecardInputs:
        year, number = (int(part) for part in month.split("-"))
        start = self.month_start(user, month)
        end = day_start(_first_of_next(year, number), user.timezone)
        accounts = self.accounts.get(user.id, ())
        ids = [account.id for account in accounts]
        return sc.ScorecardInputs(
            csm=sc.Csm(user.id, user.timezone, self._working_days(user, year, number)),
            month=month,
            as_of=self.as_of,
            requests=_gathered(self.requests, [user.id], start, end),
            accounts=accounts,
            touches=_gathered(self.touches, ids, start - MARGIN, end + MARGIN),
            asks=_gathered(self.asks, ids, end - ASK_WINDOW, end + MARGIN),
            next_steps=_gathered(self.next_steps, ids, None, end + MARGIN),
            self_review=self.reviews.get((user.id, month, user.id)),
            manager_review=self.reviews.get((user.id, month, user.manager_id or "")),
        )

    def _accounts(self) -> dict[str, tuple[sc.AccountFacts, ...]]:
        """Each CSM's accounts: every account the CSM ever owned (the domain decides when),
        with every churn and every `mrr` line above zero (a reactivation after a churn)."""
        churns = self._instants_by_account(select(Churn.account_id, Churn.at))
        paid = self._instants_by_account(
            select(MrrChange.account_id, MrrChange.at).where(MrrChange.mrr > 0)
        )
        by_csm: dict[str, list[sc.AccountFacts]] = defaultdict(list)
        for account_id, started in self.session.execute(select(Account.id, Account.started)):
            begins = day_start(started, self.tz)
            history = self.histories[account_id]
            owners = [(begins, history.initial)] if history.initial else []
            owners += [(_instant(at), owner) for at, owner in history.moves]
            facts = sc.AccountFacts(
                account_id,
                begins,
                churns.get(account_id, ()),
                tuple(owners),
                paid.get(account_id, ()),
            )
            for csm_id in {owner for _, owner in owners}:
                by_csm[csm_id].append(facts)
        return {csm_id: tuple(accounts) for csm_id, accounts in by_csm.items()}

    def _instants_by_account(self, query: Any) -> dict[str, tuple[datetime, ...]]:
        out: dict[str, list[datetime]] = defaultdict(list)
        for account_id, at in self.session.execute(query):
            out[account_id].append(at)
        return {account_id: tuple(sorted(times)) for account_id, times in out.items()}

    def _requests(self) -> dict[str, tuple[list[int], list[sc.RequestFacts]]]:
        """The requests opened in the months, by the CSM who owned the account then, in
        opening order, with business time counted to `as_of` while still waiting."""
        columns = REQUESTS.c
        micros = functools.partial(bulk.micros, self.connection)
        query = select(
            columns.id,
            columns.account_id,
            micros(columns.opened_at),
            micros(columns.first_response_at),
            micros(columns.resolved_at),
            micros(columns.escalated_at),
            columns.response_seconds,
            columns.resolution_days,
            columns.schedule_id,
        ).where(columns.opened_at >= self.lo, columns.opened_at < self.hi)
        rows = bulk.raw_rows(self.connection, query)
        rows.sort(key=lambda row: (row[2], row[0]))  # opening order: cheaper here than in SQL
        elapsed = self._elapsed(rows)
        end = to_micros(self.as_of)
        by_owner: dict[str, tuple[list[int], list[sc.RequestFacts]]] = defaultdict(lambda: ([], []))
        for row, (hours, days) in zip(rows, elapsed, strict=True):
            request_id, account_id, opened, first, resolved, escalated, seconds, bdays, _ = row
            history = self.histories.get(account_id)
            owner = history.owner_at_micros(opened) if history else None
            answered = first is not None and first <= end
            closed = resolved is not None and resolved <= end
            times, facts = by_owner[owner or ""]
            times.append(opened)
            facts.append(
                sc.RequestFacts(
                    id=request_id,
                    account_id=account_id,
                    owner_id=owner or "",
                    opened_at=_instant(opened),
                    response_hours=(seconds or 0) / 3600 if answered else hours,
                    resolution_days=(bdays or 0) if closed else days,
                    escalated=escalated is not None and escalated <= end,
                    answered=answered,
                    resolved=closed,
                )
            )
        return by_owner

    def _elapsed(self, rows: Sequence[Any]) -> list[tuple[float, float]]:
        """Business hours and days from each request's clock start to `as_of`, for the ones
        still waiting then (PRODUCT.md 4: they count their elapsed business time)."""
        out = [(0.0, 0.0)] * len(rows)
        end = to_micros(self.as_of)
        groups: dict[str, list[int]] = defaultdict(list)
        for index, row in enumerate(rows):
            opened, first, resolved = row[2], row[3], row[4]
            waiting = first is None or first > end or resolved is None or resolved > end
            if opened <= end and waiting:
                groups[row[8] or ALWAYS_OPEN].append(index)
        for schedule_id, indexes in groups.items():
            calendar_ = self.calendars[schedule_id]
            starts = np.array([rows[i][2] for i in indexes], dtype=np.int64)
            ends = np.full(starts.shape, end, dtype=np.int64)
            hours = calendar_.between(starts, ends) / 3.6e9
            days = calendar_.business_days_between(starts, ends)
            for i, h, d in zip(indexes, hours.tolist(), days.tolist(), strict=True):
                out[i] = (h, d)
        return out

    def _by_account(
        self, rows: Iterable[tuple[str, int]], kind: Callable[[str, datetime], Any]
    ) -> dict[str, tuple[list[int], list[Any]]]:
        """Records of one kind by account, in time order, with their instants to cut by."""
        out = {}
        for account_id, group in itertools.groupby(sorted(rows), key=itemgetter(0)):
            times = [at for _, at in group]
            out[account_id] = (times, [kind(account_id, _instant(at)) for at in times])
        return out

    def _touches(self) -> list[tuple[str, int]]:
        """Activities of any kind but notes, and outbound messages that open their thread."""
        micros = functools.partial(bulk.micros, self.connection)
        activities = select(Activity.account_id, micros(Activity.at)).where(
            Activity.kind != "note", Activity.at >= self.lo, Activity.at < self.hi
        )
        earlier = aliased(Message)
        openers = select(Message.account_id, micros(Message.at)).where(
            Message.direction == "outbound",
            Message.at >= self.lo,
            Message.at < self.hi,
            ~exists().where(and_(earlier.thread_id == Message.thread_id, earlier.at < Message.at)),
        )
        return bulk.raw_rows(self.connection, activities) + bulk.raw_rows(self.connection, openers)

    def _asks(self) -> list[tuple[str, int]]:
        query = select(Activity.account_id, bulk.micros(self.connection, Activity.at)).where(
            Activity.kind.in_(ASK_KINDS),
            Activity.at >= self.lo - ASK_WINDOW,
            Activity.at < self.hi,
        )
        return bulk.raw_rows(self.connection, query)

    def _next_steps(self) -> dict[str, tuple[list[int], list[Any]]]:
        query = select(
            NextStep.account_id, bulk.micros(self.connection, NextStep.at), NextStep.due
        ).where(NextStep.at < self.hi)
        by_account: dict[str, list[tuple[int, date]]] = defaultdict(list)
        for account_id, at, due in self.session.execute(query):
            by_account[account_id].append((at, due))
        out = {}
        for account_id, items in by_account.items():
            items.sort(key=lambda item: item[0])
            steps = [sc.NextStep(account_id, _instant(at), due) for at, due in items]
            out[account_id] = ([at for at, _ in items], steps)
        return out

    def _reviews(self) -> dict[tuple[str, str, str], dict[str, str]]:
        """Ratings by (CSM, month, reviewer)."""
        query = select(Review.csm_id, Review.month, Review.reviewer_id, Review.ratings)
        return {
            (csm_id, month, reviewer): dict(ratings)
            for csm_id, month, reviewer, ratings in self.session.execute(query)
        }

    def _working_days(self, user: User, year: int, month: int) -> tuple[date, ...]:
        """The working days of the CSM's schedule in the month (PRODUCT.md 4, "CRM
        hygiene"): days with open time, holidays and closed dates excluded."""
        clock = self.user_clocks.get(user.id) or ""
        schedule = self.schedules.get(clock) or self.schedules[ALWAYS_OPEN]
        days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
        versions = versions_on(schedule, days)
        return tuple(
            day for day, version in zip(days, versions, strict=True) if version.hours_on(day)
        )


def _gathered(
    filed: Mapping[str, tuple[list[int], list[Any]]],
    keys: Iterable[str],
    lo: datetime | None,
    hi: datetime,
) -> tuple[Any, ...]:
    """The records filed under `keys` (accounts, owners) stamped in [lo, hi) (from the
    first when lo is None), key by key."""
    first_at = None if lo is None else to_micros(lo)
    last_at = to_micros(hi)
    out: list[Any] = []
    for key in keys:
        if key not in filed:
            continue
        times, records = filed[key]
        first = 0 if first_at is None else bisect_left(times, first_at)
        out += records[first : bisect_left(times, last_at)]
    return tuple(out)


def _first_of_next(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    following = _first_of_next(year, number)
    return f"{following.year:04d}-{following.month:02d}"


def _utc_first(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)
