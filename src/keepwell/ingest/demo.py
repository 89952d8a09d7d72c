"""The demo book of business: a year of a CSM team's work as JSON Lines records (PRODUCT.md 9).

`generate_demo` yields the records of a realistic book: a manager, an admin and six CSMs who
differ the way real teams do (`PERSONAS`), 150 accounts in nineteen countries, and twelve months
of Slack and email requests, outreach, activities, next steps, churns, MRR changes, surveys and
reviews, ending the day before `today`. Response and resolution delays are drawn in business
time on the schedule the request's clock runs on (PRODUCT.md 3), so the personas show in the
scorecard the app computes from these records (PRODUCT.md 4 and 7).

Deterministic: the same seed and `today` give the same records in the same order. Every draw
comes from a `random.Random` seeded with the seed and what it is for (an account's traffic, its
touches, ...), so one part of the book does not shift when another changes. Times are whole
seconds since the epoch inside and ISO 8601 with `Z` in the records.
"""

from __future__ import annotations

import math
import random
import time
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate
from os import PathLike
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import orjson

from keepwell.ingest import demo_text as text
from keepwell.ingest.demo_text import Topic
from keepwell.ingest.records import RATED_METRICS

Record = dict[str, Any]

MINUTE, HOUR, DAY = 60, 3600, 86400
WORKWEEK = ("mon", "tue", "wed", "thu", "fri")
WEEKDAYS = (*WORKWEEK, "sat", "sun")
MANAGER = "u-maya"
METRICS = RATED_METRICS
BANDS = ("red", "yellow", "green")

# Requests per account and working day, by segment; weekends see a trickle.
REQUEST_RATE = {"enterprise": 0.34, "mid-market": 0.19, "smb": 0.115}
WEEKEND_SHARE = 0.06
NIGHT_SHARE = 0.08  # arrivals outside the client's working hours on a working day
ONBOARDING_DAYS, ONBOARDING_BOOST = 45, 1.8
CHURNS = 14  # of 150 accounts: 9 %
COVERAGE_ACCOUNTS = 5  # enterprise accounts on the 24x5 support schedule


@dataclass(frozen=True)
class Persona:
    """How a CSM works: the delays, habits and ratings that make them recognisable."""

    name: str
    first_response: tuple[float, float]  # business minutes: median and lognormal sigma
    resolution: tuple[float, float]  # business hours from first response to done
    escalate: float  # share of requests escalated to the manager
    forward: float  # share of requests quoted to the manager before replying
    touch: float  # chance of a proactive touch per account and week
    next_step_every: tuple[int, int] | None  # days between next steps; None: never sets one
    next_step_due: tuple[int, int]  # days from setting a next step to its due date
    testimonial: float  # chance an eligible account is asked, about twice a year
    style: str  # how replies read: direct | friendly | filler (demo_text.OPENERS)
    auto_reply: bool  # an email auto-responder acknowledges first (never a response)
    forgets: float  # share of requests answered but marked resolved only days later
    happiness: float  # mean NPS score of the accounts
    ratings: str  # the manager's usual ratings of METRICS: g, y or r each
    churn_risk: float  # how likely one of their accounts is to leave, relative to others
    self_bias: int = 0  # how many bands greener the CSM rates themself


# Ratings are the manager's usual view of METRICS in order: retention, response time,
# resolution time, independence, proactivity, testimonials, CRM hygiene.
FAST = Persona(
    name="fast owner",
    first_response=(7, 0.6),
    resolution=(1.5, 0.7),
    escalate=0.0,
    forward=0.0,
    touch=0.93,
    next_step_every=(5, 9),
    next_step_due=(12, 16),  # the next one always comes before this one is due
    testimonial=0.95,
    style="direct",
    auto_reply=False,
    forgets=0.0,
    happiness=8.9,
    ratings="ggggggg",
    churn_risk=0.3,
)
FORWARDER = Persona(
    name="forwarder",
    first_response=(40, 0.6),  # when not forwarding; forwarding waits for the manager
    resolution=(10, 0.8),
    escalate=0.45,
    forward=0.75,
    touch=0.5,
    next_step_every=(12, 28),
    next_step_due=(5, 14),
    testimonial=0.5,
    style="filler",
    auto_reply=True,
    forgets=0.01,
    happiness=7.0,
    ratings="gyyrrrr",
    churn_risk=2.5,
)
SLOW = Persona(
    name="slow",
    first_response=(330, 0.35),  # 3 to 8 business hours, most of the time
    resolution=(16, 0.6),
    escalate=0.12,
    forward=0.0,
    touch=0.45,
    next_step_every=(20, 45),
    next_step_due=(7, 14),
    testimonial=0.35,
    style="filler",
    auto_reply=True,
    forgets=0.03,
    happiness=6.4,
    ratings="yrryrrr",
    churn_risk=3.0,
    self_bias=2,
)
NO_NEXT_STEPS = Persona(
    name="no next steps",
    first_response=(45, 0.6),
    resolution=(6, 0.7),
    escalate=0.04,
    forward=0.0,
    touch=0.7,
    next_step_every=None,
    next_step_due=(0, 0),
    testimonial=0.6,
    style="friendly",
    auto_reply=False,
    forgets=0.0,
    happiness=7.8,
    ratings="ggyggyr",
    churn_risk=1.2,
)
SOLID = Persona(
    name="solid",
    first_response=(35, 0.6),
    resolution=(5, 0.7),
    escalate=0.04,
    forward=0.0,
    touch=0.8,
    next_step_every=(8, 18),
    next_step_due=(7, 21),
    testimonial=0.75,
    style="friendly",
    auto_reply=False,
    forgets=0.0,
    happiness=8.2,
    ratings="gggggyy",
    churn_risk=0.8,
)
SOLID_PART_TIME = Persona(
    name="solid, 20-hour week",
    first_response=(40, 0.6),
    resolution=(2.5, 0.7),  # a business day is 4 hours on this schedule
    escalate=0.05,
    forward=0.0,
    touch=0.75,
    next_step_every=(10, 20),
    next_step_due=(10, 20),
    testimonial=0.7,
    style="friendly",
    auto_reply=False,
    forgets=0.0,
    happiness=8.1,
    ratings="ggyggyy",
    churn_risk=0.8,
)


@dataclass(frozen=True)
class Member:
    """A member of the team; CSMs own `accounts` accounts in `regions` (country, zone)."""

    id: str
    name: str
    role: str
    timezone: str
    schedule: str
    persona: Persona | None = None
    accounts: int = 0
    regions: tuple[tuple[str, str], ...] = ()

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


TEAM = (
    Member("u-maya", "Maya Goldberg", "manager", "America/New_York", "ny-40h"),
    Member("u-sam", "Sam Okafor", "admin", "Europe/Berlin", "berlin-40h"),
    Member(
        "u-olena", "Olena Kovalenko", "csm", "Europe/Kyiv", "kyiv-40h", FAST, 27,
        (("UA", "Europe/Kyiv"), ("UA", "Europe/Kyiv"), ("PL", "Europe/Warsaw"),
         ("GB", "Europe/London"), ("NL", "Europe/Amsterdam")),
    ),
    Member(
        "u-derek", "Derek Walsh", "csm", "America/New_York", "ny-40h", FORWARDER, 28,
        (("US", "America/New_York"), ("US", "America/Chicago"), ("US", "America/Denver"),
         ("US", "America/Los_Angeles"), ("CA", "America/Toronto"), ("CA", "America/Vancouver")),
    ),
    Member(
        "u-lukas", "Lukas Brandt", "csm", "Europe/Berlin", "berlin-40h", SLOW, 27,
        (("DE", "Europe/Berlin"), ("DE", "Europe/Berlin"), ("AT", "Europe/Vienna"),
         ("CH", "Europe/Zurich"), ("FR", "Europe/Paris")),
    ),
    Member(
        "u-rafael", "Rafael Souza", "csm", "America/Sao_Paulo", "sp-40h", NO_NEXT_STEPS, 27,
        (("BR", "America/Sao_Paulo"), ("BR", "America/Sao_Paulo"), ("MX", "America/Mexico_City"),
         ("AR", "America/Argentina/Buenos_Aires"), ("CO", "America/Bogota")),
    ),
    Member(
        "u-chloe", "Chloe Nguyen", "csm", "Australia/Sydney", "sydney-40h", SOLID, 27,
        (("AU", "Australia/Sydney"), ("AU", "Australia/Melbourne"), ("AU", "Australia/Brisbane"),
         ("SG", "Asia/Singapore"), ("NZ", "Pacific/Auckland")),
    ),
    Member(
        "u-joy", "Joy Santos", "csm", "Asia/Manila", "manila-20h", SOLID_PART_TIME, 14,
        (("PH", "Asia/Manila"), ("AU", "Australia/Sydney"), ("JP", "Asia/Tokyo"),
         ("NZ", "Pacific/Auckland")),
    ),
)  # fmt: skip
PERSONAS = {m.persona.name: m.id for m in TEAM if m.persona}
# Reassignments during the year: from, to, days before today.
REASSIGNMENTS = (
    ("u-lukas", "u-olena", 250),
    ("u-lukas", "u-olena", 120),
    ("u-derek", "u-rafael", 200),
    ("u-rafael", "u-derek", 90),
    ("u-chloe", "u-joy", 160),
    ("u-joy", "u-chloe", 60),
)
CURRENCY = {"GB": "GBP", "DE": "EUR", "AT": "EUR", "FR": "EUR", "NL": "EUR"}
# What one unit of each of the demo's currencies is worth in US dollars: plausible rates of
# late 2026, which the demo loads as the admin's (PRODUCT.md 6).
USD_PRICES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
SEGMENTS = (("enterprise", 0.2), ("mid-market", 0.4), ("smb", 0.4))
WRITERS = {"champion": 5.0, "user": 4.0, "executive_sponsor": 1.0}  # who raises requests
CHAMPION = {"champion": 1.0}
SPONSOR = {"executive_sponsor": 1.0, "champion": 0.01}


def generate_demo(seed: int = 7, today: date | None = None) -> Iterator[Record]:
    """The demo book's records, `type` first, in the order an import reads them.

    `today` is the demo's now: traffic ends the day before (its last instant is before
    00:00 UTC of `today`). It defaults to the current date; pass it for a repeatable book.
    """
    yield from _Book(seed, today or date.today()).records()


def demo_rates(base: str = "USD") -> dict[str, Decimal]:
    """The demo's exchange rates into `base`: one unit of each of its other currencies in
    `base`. None when `base` is not one of the demo's currencies (the admin sets them)."""
    if base not in USD_PRICES:
        return {}
    price = USD_PRICES[base]
    return {
        code: (usd / price).quantize(Decimal("0.00000001"))
        for code, usd in USD_PRICES.items()
        if code != base
    }


def write_demo(
    path: str | PathLike[str], seed: int = 7, today: date | None = None
) -> dict[str, int]:
    """Write the demo book as JSON Lines to `path`; returns how many records of each type."""
    counts: Counter[str] = Counter()
    with Path(path).open("wb") as out:
        for record in generate_demo(seed, today):
            counts[record["type"]] += 1
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    return dict(counts)


# Schedules ----------------------------------------------------------------------------------


def _intervals(*spans: tuple[str, str]) -> list[list[str]]:
    return [list(span) for span in spans]


def _week(days: Sequence[str], *spans: tuple[str, str]) -> dict[str, list[list[str]]]:
    return {day: _intervals(*spans) for day in days}


def _last(today: date, month: int, day: int) -> date:
    """The latest `month`-`day` before `today`."""
    candidate = date(today.year, month, day)
    return candidate if candidate < today else date(today.year - 1, month, day)


def _schedules(today: date) -> list[Record]:
    """The team's business hours; the 20-hour week changed shape five months ago."""
    eve, new_year_eve = _last(today, 12, 24), _last(today, 12, 31)
    next_eve = date(eve.year + 1, 12, 24)
    offsite = today - timedelta(days=120)
    offsite -= timedelta(days=(offsite.weekday() - 4) % 7)  # a Friday four months ago
    changed = date(today.year, today.month, 1) - timedelta(days=150)
    changed = date(changed.year, changed.month, 1)
    nine_to_five = ("09:00", "17:00")

    def schedule(id: str, zone: str, week: Record, **rest: Any) -> Record:
        return {"type": "schedule", "id": id, "timezone": zone, "week": week, **rest}

    return [
        schedule(
            "kyiv-40h", "Europe/Kyiv", _week(WORKWEEK, ("09:00", "13:00"), ("14:00", "18:00")),
            holidays={"country": "UA", "dates": [offsite.isoformat()]},
            days={new_year_eve.isoformat(): _intervals(("09:00", "13:00"))},
        ),
        schedule(
            "ny-40h", "America/New_York", _week(WORKWEEK, nine_to_five),
            holidays={"country": "US", "subdivision": "NY"},
            days={d.isoformat(): _intervals(("09:00", "13:00")) for d in (eve, next_eve)},
        ),
        schedule(
            "berlin-40h", "Europe/Berlin", _week(WORKWEEK, nine_to_five),
            holidays={"country": "DE", "subdivision": "BE", "dates": [new_year_eve.isoformat()]},
            days={eve.isoformat(): _intervals(("09:00", "12:00"))},
        ),
        schedule(
            "manila-20h", "Asia/Manila",
            {**_week(("mon", "wed", "fri"), ("09:00", "13:00"), ("14:00", "16:00")),
             "thu": _intervals(("09:00", "11:00"))},
            holidays={"country": "PH"},
        ),
        schedule(
            "manila-20h", "Asia/Manila", _week(WORKWEEK, ("09:00", "13:00")),
            effective=changed.isoformat(), holidays={"country": "PH"},
        ),
        schedule(
            "sydney-40h", "Australia/Sydney", _week(WORKWEEK, nine_to_five),
            holidays={"country": "AU", "subdivision": "NSW"},
        ),
        schedule(
            "sp-40h", "America/Sao_Paulo", _week(WORKWEEK, ("09:00", "12:00"), ("13:00", "18:00")),
            holidays={"country": "BR"},
        ),
        schedule("support-24x5", "UTC", _week(WORKWEEK, ("00:00", "24:00"))),
    ]  # fmt: skip


@cache
def _public_holidays(
    country: str, subdivision: str | None, years: tuple[int, ...]
) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=years))


def _seconds(day: date, hhmm: str, zone: ZoneInfo) -> int:
    hours, minutes = map(int, hhmm.split(":"))
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    if hours == 24:
        return int((midnight + timedelta(days=1)).timestamp())
    return int(midnight.replace(hour=hours, minute=minutes).timestamp())


class _Clock:
    """One schedule's open intervals over the demo's span, as seconds since the epoch.

    Business time is a position on the concatenated open intervals, so adding business
    seconds is two binary searches. Versions, holidays, closed dates and date-specific hours
    apply as PRODUCT.md 3 says; the app's own engine is the authority, this only paces the demo.
    """

    def __init__(self, versions: Sequence[Record], first: date, last: date) -> None:
        ordered = sorted(versions, key=lambda v: v.get("effective", ""))
        zone = ZoneInfo(ordered[0]["timezone"])
        years = tuple(range(first.year, last.year + 1))
        starts: list[int] = []
        ends: list[int] = []
        day = first
        while day <= last:
            version = self._in_force(ordered, day)
            for begin, end in self._hours(version, day, years):
                starts.append(_seconds(day, begin, zone))
                ends.append(_seconds(day, end, zone))
            day += timedelta(days=1)
        self.starts, self.ends = starts, ends
        self.cum_end = list(accumulate(e - s for s, e in zip(starts, ends, strict=True)))
        self.cum = [0, *self.cum_end[:-1]]

    @staticmethod
    def _in_force(versions: Sequence[Record], day: date) -> Record:
        iso = day.isoformat()
        return [v for v in versions if v.get("effective", "") <= iso][-1]

    @staticmethod
    def _hours(version: Record, day: date, years: tuple[int, ...]) -> list[list[str]]:
        iso = day.isoformat()
        rules = version.get("holidays", {})
        if iso in rules.get("dates", ()):
            return []
        if "country" in rules:
            public = _public_holidays(rules["country"], rules.get("subdivision"), years)
            if day in public:
                return []
        days = version.get("days", {})
        if iso in days:
            return list(days[iso])
        return list(version["week"].get(WEEKDAYS[day.weekday()], []))

    def position(self, t: float) -> float:
        """Open seconds from the span's start to `t`."""
        i = bisect_right(self.ends, t)
        if i == len(self.ends):
            return float(self.cum_end[-1])
        return self.cum[i] + max(0.0, t - self.starts[i])

    def at(self, position: float) -> int:
        """The instant `position` open seconds in; an exact boundary is the next opening."""
        j = bisect_right(self.cum_end, position)
        if j == len(self.cum_end):
            return int(self.ends[-1] + position - self.cum_end[-1])
        return int(self.starts[j] + position - self.cum[j])

    def add(self, t: float, seconds: float) -> int:
        return self.at(self.position(t) + max(1.0, seconds))

    def between(self, rng: random.Random, begin: float, end: float) -> int | None:
        """A random open instant in [begin, end), or None when none is open."""
        low, high = self.position(begin), self.position(end)
        if high - low < MINUTE:
            return None
        return self.at(rng.uniform(low, high - 1))


# Accounts -----------------------------------------------------------------------------------


@dataclass
class _Account:
    id: str
    name: str
    country: str
    timezone: str
    segment: str
    started: date
    first: int  # the first instant with traffic
    stop: int  # nothing happens from here on: the data's end or the churn
    owners: list[tuple[int, str]]  # (from, user id), in time order
    channel: str
    schedule: str | None = None
    churn: int | None = None
    contacts: list[Record] = field(default_factory=list)

    def owner_at(self, t: int) -> str:
        owner = self.owners[0][1]
        for since, user in self.owners:
            if since <= t:
                owner = user
        return owner

    def contact(self, rng: random.Random, weights: dict[str, float]) -> Record:
        """A contact picked by role: `weights` says how often each role writes."""
        chances = [weights.get(c["role"], 0.0) for c in self.contacts]
        if not any(chances):
            return self.contacts[0]
        return rng.choices(self.contacts, chances)[0]


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _month_name(t: int) -> str:
    return time.strftime("%B", time.gmtime(t))


def _weekday_label(t: int) -> str:
    """A deadline as people write it: "Monday 7 April", never on a weekend."""
    day = datetime.fromtimestamp(t, UTC).date()
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    return f"{day:%A} {day.day} {day:%B}"


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower().replace(" ", "-") if ch.isalnum() or ch == "-")


def _slack_id(rng: random.Random) -> str:
    return "U" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=10))


# The book -----------------------------------------------------------------------------------


class _Book:
    def __init__(self, seed: int, today: date) -> None:
        self.seed, self.today = seed, today
        self.end = _midnight(today)
        self.start = self.end - 365 * DAY
        self.schedules = _schedules(today)
        first, last = today - timedelta(days=380), today + timedelta(days=200)
        by_id: dict[str, list[Record]] = {}
        for line in self.schedules:
            by_id.setdefault(line["id"], []).append(line)
        self.clocks = {id: _Clock(versions, first, last) for id, versions in by_id.items()}
        self.members = {m.id: m for m in TEAM}
        self.events: list[tuple[int, int, Record]] = []
        self.threads = 0
        self.asks: list[Record] = []  # clients' opening Slack messages, for untrusted text

    def _persona(self, user: str) -> Persona:
        persona = self.members[user].persona
        assert persona is not None, f"{user} is not a CSM"
        return persona

    def rng(self, *purpose: object) -> random.Random:
        return random.Random("/".join(map(str, (self.seed, *purpose))))

    def records(self) -> Iterator[Record]:
        accounts = self._accounts()
        self._churn(accounts)
        assigns = self._reassign(accounts)
        for account in accounts:
            self._traffic(account)
            self._touches(account)
            self._next_steps(account)
            self._revenue(account)
            self._surveys(account)
        for at, owner, account in assigns:
            self._emit(account, at, {"type": "assign", "account": account.id, "owner": owner})
        self._untrusted_text()
        yield from self.schedules
        yield from self._users()
        yield from (self._account_line(account) for account in accounts)
        for account in accounts:
            yield from account.contacts
        yield from self._timeline()
        yield from self._reviews()

    # -- the cast

    def _users(self) -> Iterator[Record]:
        rng = self.rng("users")
        for member in TEAM:
            user: Record = {
                "type": "user",
                "id": member.id,
                "name": member.name,
                "email": f"{_ascii(member.name).replace('-', '.')}@example.com",
                "role": member.role,
                "timezone": member.timezone,
                "schedule": member.schedule,
            }
            if member.role == "csm":
                user["manager"] = MANAGER
            user["slack_user_id"] = _slack_id(rng)
            yield user

    def _accounts(self) -> list[_Account]:
        rng = self.rng("accounts")
        names = rng.sample(
            [f"{a} {b}" for a in text.ACCOUNT_NAMES for b in text.ACCOUNT_KINDS],
            sum(m.accounts for m in TEAM),
        )
        accounts: list[_Account] = []
        for member in TEAM:
            for i in range(member.accounts):
                country, zone = member.regions[i % len(member.regions)]
                accounts.append(self._account(rng, names[len(accounts)], member, country, zone))
        # The 24x5 premium accounts sit with the CSMs who keep up with them.
        enterprise = [
            a
            for a in accounts
            if a.segment == "enterprise" and self._persona(a.owners[0][1]) not in (SLOW, FORWARDER)
        ]
        for account in rng.sample(enterprise, COVERAGE_ACCOUNTS):
            account.schedule = "support-24x5"
        return accounts

    def _account(
        self, rng: random.Random, name: str, owner: Member, country: str, zone: str
    ) -> _Account:
        started = self.today - timedelta(days=rng.randint(10, 730))
        segment = rng.choices([s for s, _ in SEGMENTS], [w for _, w in SEGMENTS])[0]
        account = _Account(
            id=_ascii(name),
            name=f"{name} {text.LEGAL_SUFFIX[country]}",
            country=country,
            timezone=zone,
            segment=segment,
            started=started,
            first=max(self.start, _midnight(started + timedelta(days=1))),
            stop=self.end,
            owners=[(0, owner.id)],
            channel="slack" if rng.random() < 0.6 else "email",
        )
        account.contacts = self._contacts(rng, account)
        return account

    def _contacts(self, rng: random.Random, account: _Account) -> list[Record]:
        firsts, lasts = text.NAMES[account.country]
        count = rng.choice((2, 3, 3, 4))
        roles = ["champion", "executive_sponsor", "user", "user"][:count]
        if account.segment == "smb" and rng.random() < 0.5:
            roles[1] = "user"
        contacts = []
        for n, (first, role) in enumerate(zip(rng.sample(firsts, count), roles, strict=True)):
            last = rng.choice(lasts)
            contact: Record = {
                "type": "contact",
                "id": f"c-{account.id}-{n + 1}",
                "account": account.id,
                "name": f"{first} {last}",
                "email": f"{_ascii(first)}.{_ascii(last)}@{account.id}.example".replace("-", ""),
                "role": role,
            }
            if account.channel == "slack":
                contact["slack_user_id"] = _slack_id(rng)
            contacts.append(contact)
        return contacts

    def _account_line(self, account: _Account) -> Record:
        rng = self.rng("account-line", account.id)
        line: Record = {
            "type": "account",
            "id": account.id,
            "name": account.name,
            "country": account.country,
            "timezone": account.timezone,
            "owner": account.owners[0][1],
            "started": account.started.isoformat(),
            "mrr": self._opening_mrr(account),
            "currency": CURRENCY.get(account.country, "USD"),
            "segment": account.segment,
            "tags": sorted(rng.sample(text.TAGS, rng.randint(1, 2))),
            "stage": self._stage(account),
            "preferred_channel": account.channel,
        }
        if account.churn is None:
            line["renewal_date"] = self._renewal(account.started).isoformat()
        if account.schedule:
            line["schedule"] = account.schedule
        return line

    def _stage(self, account: _Account) -> str:
        if account.churn is not None:
            return "churned"
        return "onboarding" if (self.today - account.started).days <= 60 else "active"

    def _renewal(self, started: date) -> date:
        years = self.today.year - started.year
        while True:
            try:
                renewal = started.replace(year=started.year + years)
            except ValueError:  # 29 February
                renewal = date(started.year + years, 2, 28)
            if renewal >= self.today:
                return renewal
            years += 1

    def _churn(self, accounts: list[_Account]) -> None:
        """Some accounts leave during the year, more often those the weaker CSMs own."""
        rng = self.rng("churn")
        pool = [a for a in accounts if a.started < self.today - timedelta(days=150)]
        for _ in range(CHURNS):
            weights = [
                self._persona(a.owners[0][1]).churn_risk * (1.5 if a.segment == "smb" else 1.0)
                for a in pool
            ]
            account = rng.choices(pool, weights)[0]
            pool.remove(account)
            earliest = max(self.start + 30 * DAY, _midnight(account.started) + 120 * DAY)
            days = rng.randint(0, (self.end - 10 * DAY - earliest) // DAY)
            account.churn = account.stop = earliest + days * DAY

    def _reassign(self, accounts: list[_Account]) -> list[tuple[int, str, _Account]]:
        rng = self.rng("assign")
        moves = []
        for source, target, days_ago in REASSIGNMENTS:
            at = self.end - days_ago * DAY
            at -= ((at // DAY + 3) % 7) * DAY  # the Monday on or before: 1970-01-01 a Thursday
            fitting = [
                a
                for a in accounts
                if a.owners == [(0, source)] and a.churn is None and a.first < at - 30 * DAY
            ]
            account = rng.choice(fitting)
            account.owners.append((at, target))
            moves.append((at, target, account))
        return moves

    # -- events

    def _emit(self, account: _Account, at: int, record: Record) -> bool:
        """Keep `record` if it happens while the account is live; `at` goes in its place."""
        if not account.first <= at < account.stop:
            return False
        record["at"] = at
        self.events.append((at, len(self.events), record))
        return True

    def _message(
        self,
        account: _Account,
        thread: int,
        at: int,
        author: str,
        direction: str,
        channel: str,
        body: str,
        automated: bool = False,
    ) -> Record | None:
        record: Record = {
            "type": "message",
            "id": "",
            "account": account.id,
            "thread": thread,
            "at": at,
            "author": author,
            "direction": direction,
            "channel": channel,
        }
        if automated:
            record["automated"] = True
        record["text"] = body
        return record if self._emit(account, at, record) else None

    def _activity(
        self, rng: random.Random, account: _Account, at: int, by: str, kind: str, fill: Record
    ) -> bool:
        body = rng.choice(text.ACTIVITY_TEXTS[kind]).format_map(fill)
        record = {"type": "activity", "id": "", "account": account.id, "by": by, "at": at}
        return self._emit(account, at, {**record, "kind": kind, "text": body})

    def _new_thread(self) -> int:
        self.threads += 1
        return self.threads

    def _fill(self, rng: random.Random, account: _Account, contact: Record, at: int) -> Record:
        owner = self.members[account.owner_at(at)]
        later = at + rng.randint(3, 20) * DAY
        return {
            "first": contact["name"].split()[0],
            "csm": owner.first_name,
            "manager": self.members[MANAGER].first_name,
            "account": account.name.split()[0],
            "country": text.COUNTRY_NAMES[account.country],
            "place": text.COUNTRY_PLACES[account.country],
            "month": _month_name(at),
            "day": _weekday_label(later),
            "n": rng.randint(10_000, 99_999),
        }

    # -- requests

    def _traffic(self, account: _Account) -> None:
        rng = self.rng("traffic", account.id)
        for at in self._arrivals(rng, account):
            topic = rng.choice(text.TOPICS)
            contact = account.contact(rng, WRITERS)
            fill = self._fill(rng, account, contact, at)
            channel = account.channel if rng.random() < 0.8 else _other(account.channel)
            ask = rng.choice(topic.asks).format_map(fill)
            if channel == "email":
                ask = f"Subject: {topic.subject}\n\n{ask}"
            thread = self._new_thread()
            self._request(rng, account, thread, channel, at, contact, ask, topic, fill)

    def _arrivals(self, rng: random.Random, account: _Account) -> list[int]:
        """Clients write mostly on their working days and hours; a few at night and weekends."""
        zone = ZoneInfo(account.timezone)
        rate = REQUEST_RATE[account.segment]
        last = account.stop - (14 * DAY if account.churn else 0)
        day = datetime.fromtimestamp(account.first, zone).date()
        arrivals = []
        while (midnight := datetime(day.year, day.month, day.day, tzinfo=zone)).timestamp() < last:
            weekend = day.weekday() >= 5
            mean = rate * (WEEKEND_SHARE if weekend else 1.0)
            if (day - account.started).days < ONBOARDING_DAYS:
                mean *= ONBOARDING_BOOST
            for _ in range(_poisson(rng, mean)):
                if weekend or rng.random() < NIGHT_SHARE:
                    hour = rng.uniform(0, 24)
                else:
                    hour = min(max(rng.gauss(12.8, 2.6), 7.5), 19.5)
                at = int(midnight.timestamp() + hour * HOUR)
                if account.first <= at < last:
                    arrivals.append(at)
            day += timedelta(days=1)
        return sorted(arrivals)

    def _request(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        channel: str,
        opened: int,
        contact: Record,
        ask: str,
        topic: Topic,
        fill: Record,
    ) -> None:
        """A client's request: asks, maybe nudges, the first response, follow-ups, resolve."""
        owner = self.members[account.owner_at(opened)]
        persona = self._persona(owner.id)
        opening = self._message(account, thread, opened, contact["id"], "inbound", channel, ask)
        if opening is None:
            return
        if channel == "slack":
            self.asks.append(opening)
        if channel == "email" and persona.auto_reply:
            auto = opened + rng.randint(20, 90)
            self._message(account, thread, auto, owner.id, "outbound", channel, text.AUTO_REPLY,
                          automated=True)  # fmt: skip
        replied, busy_until = self._answer(
            rng, account, thread, channel, opened, owner, contact, ask, topic, fill
        )
        clock = self.clocks[account.schedule or owner.schedule]
        median, sigma = persona.resolution
        done = clock.add(replied, rng.lognormvariate(math.log(median), sigma) * HOUR)
        done = max(done, busy_until + rng.randint(10, 60) * MINUTE)
        if account.churn is not None:  # a leaving client's requests are wrapped up first
            floor = max(replied, busy_until) + MINUTE
            done = max(floor, min(done, account.churn - DAY))
        self._follow_ups(rng, account, thread, channel, clock, replied, done, contact, fill)
        closing = rng.choice(text.CLOSINGS)
        self._message(account, thread, done, owner.id, "outbound", channel, closing)
        forgot = rng.random() < persona.forgets
        resolved = done + rng.randint(1, 20) * MINUTE
        if forgot:
            resolved = self._found_later(rng, account, resolved)
        note = rng.choice(topic.notes).format_map(fill)
        record = {"type": "resolve", "thread": thread, "at": resolved, "by": owner.id}
        if self._emit(account, resolved, {**record, "note": note}) and rng.random() < 0.07:
            self._csat(rng, account, contact, resolved, persona)

    def _found_later(self, rng: random.Random, account: _Account, resolved: int) -> int:
        """A request answered but not marked resolved: the owner finds it when tidying the
        inbox, or the manager asks, a few days to two weeks later, as a real team would;
        an account about to leave has its requests closed before it goes. So only the last
        fortnight's forgotten requests are still open on the demo's today."""
        late = resolved + rng.randint(3, 14) * DAY + rng.randint(0, 8 * 60) * MINUTE
        if account.churn is not None:
            late = min(late, max(resolved, account.churn - rng.randint(1, 3) * DAY))
        return late

    def _answer(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        channel: str,
        opened: int,
        owner: Member,
        contact: Record,
        ask: str,
        topic: Topic,
        fill: Record,
    ) -> tuple[int, int]:
        """The first response, at the persona's pace; with the manager's help if they need it.

        Returns when it was sent and until when the manager was involved.
        """
        persona = self._persona(owner.id)
        forwarded = rng.random() < persona.forward
        if forwarded:
            chance = persona.escalate / persona.forward
        else:
            chance = 0.0 if persona.forward else persona.escalate
        escalated = rng.random() < chance
        if forwarded:
            replied, reply, busy_until = self._forward(
                rng, account, thread, opened, owner, ask, topic, fill, escalated
            )
        else:
            clock = self.clocks[account.schedule or owner.schedule]
            median, sigma = persona.first_response
            delay = rng.lognormvariate(math.log(median), sigma) * MINUTE
            replied, busy_until = clock.add(opened, delay), 0
            reply = rng.choice(topic.replies).format_map(fill)
        self._nudges(rng, account, thread, channel, opened, replied, contact, fill)
        reply = self._styled(rng, persona, reply, fill)
        self._message(account, thread, replied, owner.id, "outbound", channel, reply)
        if escalated and not forwarded:
            busy_until = self._escalate_after_reply(rng, account, thread, replied, owner)
        return replied, busy_until

    def _forward(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        opened: int,
        owner: Member,
        ask: str,
        topic: Topic,
        fill: Record,
        escalated: bool,
    ) -> tuple[int, str, int]:
        """The forwarder quotes the client to the manager and sends back the manager's words."""
        manager = self.members[MANAGER]
        own = self.clocks[owner.schedule]
        asked = own.add(opened, rng.uniform(4, 20) * MINUTE)
        quote = ask.split("\n\n")[-1]
        forward = rng.choice(text.FORWARDS).format_map({**fill, "quote": quote})
        self._message(account, thread, asked, owner.id, "internal", "slack", forward)
        if escalated:
            self._escalate(rng, account, thread, asked + rng.randint(30, 180), owner, novel=0.25)
        delay = rng.lognormvariate(math.log(45), 0.6) * MINUTE
        answered = self.clocks[manager.schedule].add(asked, delay)
        answer = rng.choice(topic.answers).format_map(fill)
        self._message(account, thread, answered, manager.id, "internal", "slack", answer)
        replied = own.add(answered, rng.uniform(3, 15) * MINUTE)
        return replied, answer, answered

    def _escalate(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        at: int,
        owner: Member,
        novel: float,
    ) -> None:
        is_novel = rng.random() < novel
        reasons = text.NOVEL_REASONS if is_novel else text.ESCALATION_REASONS
        reason = rng.choice(reasons).format_map(_places(account.country))
        record = {"type": "escalate", "thread": thread, "at": at, "by": owner.id, "to": MANAGER}
        self._emit(account, at, {**record, "novel": is_novel, "reason": reason})

    def _escalate_after_reply(
        self, rng: random.Random, account: _Account, thread: int, replied: int, owner: Member
    ) -> int:
        """A genuine escalation: the manager weighs in internally; done comes after that."""
        at = replied + rng.randint(5, 90) * MINUTE
        self._escalate(rng, account, thread, at, owner, novel=0.5)
        clock = self.clocks[self.members[MANAGER].schedule]
        answered = clock.add(at, rng.lognormvariate(math.log(60), 0.6) * MINUTE)
        answer = rng.choice(text.MANAGER_ON_ESCALATION)
        self._message(account, thread, answered, MANAGER, "internal", "slack", answer)
        return answered

    def _nudges(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        channel: str,
        opened: int,
        replied: int,
        contact: Record,
        fill: Record,
    ) -> None:
        """Before anyone answers, the client sometimes writes again (it restarts nothing)."""
        roll = rng.random()
        count = 2 if roll < 0.08 else 1 if roll < 0.3 else 0
        if replied - opened < 20 * MINUTE:
            return
        for at in sorted(rng.randint(opened + 5 * MINUTE, replied - 2 * MINUTE)
                         for _ in range(count)):  # fmt: skip
            body = rng.choice(text.NUDGES).format_map(fill)
            self._message(account, thread, at, contact["id"], "inbound", channel, body)

    def _follow_ups(
        self,
        rng: random.Random,
        account: _Account,
        thread: int,
        channel: str,
        clock: _Clock,
        replied: int,
        done: int,
        contact: Record,
        fill: Record,
    ) -> None:
        pairs = rng.choices((0, 1, 2, 3), (0.3, 0.4, 0.22, 0.08))[0]
        low, high = clock.position(replied + 1), clock.position(done - 1)
        if high - low < 4 * pairs * MINUTE:
            return
        owner = account.owner_at(replied)
        moments = iter(sorted(clock.at(rng.uniform(low, high)) for _ in range(2 * pairs)))
        for question, answer in rng.sample(text.FOLLOW_UPS, pairs):
            asked, answered = next(moments), next(moments)
            body = question.format_map(fill)
            self._message(account, thread, asked, contact["id"], "inbound", channel, body)
            body = answer.format_map(fill)
            self._message(account, thread, answered, owner, "outbound", channel, body)

    def _styled(self, rng: random.Random, persona: Persona, body: str, fill: Record) -> str:
        opener = rng.choice(text.OPENERS[persona.style]).format_map(fill)
        closer = rng.choice(text.CLOSERS[persona.style])
        return f"{opener}{body}{closer}"

    def _csat(
        self, rng: random.Random, account: _Account, contact: Record, at: int, persona: Persona
    ) -> None:
        answered = at + rng.randint(10, 240) * MINUTE
        mean = 1 + 4 * persona.happiness / 10
        score = min(5, max(1, round(rng.gauss(mean, 0.8))))
        comment = rng.choice(text.CSAT_COMMENTS)
        record = {"type": "survey", "id": "", "account": account.id, "contact": contact["id"]}
        survey = {**record, "at": answered, "kind": "csat", "score": score, "comment": comment}
        self._emit(account, answered, survey)

    # -- proactive work

    def _touches(self, account: _Account) -> None:
        """Weekly-ish touches by the owner, quarterly EBRs, testimonial and case-study asks."""
        rng = self.rng("touches", account.id)
        week = self.start - ((self.start // DAY + 3) % 7) * DAY  # a Monday, UTC
        while week < account.stop:
            owner = self.members[account.owner_at(week)]
            if rng.random() < self._persona(owner.id).touch:
                at = self.clocks[owner.schedule].between(
                    rng, max(week, account.first), min(week + 7 * DAY, account.stop)
                )
                if at is not None:
                    self._touch(rng, account, owner, at)
            week += 7 * DAY
        if account.segment == "enterprise":
            self._reviews_with_sponsor(rng, account)
        self._testimonial_asks(rng, account)

    def _touch(self, rng: random.Random, account: _Account, owner: Member, at: int) -> None:
        contact = account.contact(rng, CHAMPION)
        fill = self._fill(rng, account, contact, at)
        roll = rng.random()
        if roll < 0.22:
            self._outreach(rng, account, owner, at, contact, fill)
            return
        kind = "check_in" if roll < 0.68 else "call" if roll < 0.86 else "meeting"
        self._activity(rng, account, at, owner.id, kind, fill)
        if kind != "check_in" and rng.random() < 0.3:
            self._activity(rng, account, at + rng.randint(20, 120) * MINUTE, owner.id, "note", fill)

    def _outreach(
        self,
        rng: random.Random,
        account: _Account,
        owner: Member,
        at: int,
        contact: Record,
        fill: Record,
    ) -> None:
        """A message we send that opens a thread; a client's reply to it is a request."""
        subject, body = rng.choice(text.OUTREACH)
        body = body.format_map(fill)
        channel = account.channel
        if channel == "email":
            body = f"Subject: {subject}\n\n{body}"
        thread = self._new_thread()
        if self._message(account, thread, at, owner.id, "outbound", channel, body) is None:
            return
        if rng.random() < 0.35:
            replied = at + int(rng.uniform(0.3, 30) * HOUR)
            ask = rng.choice(text.OUTREACH_REPLIES).format_map(fill)
            if account.churn is not None and replied > account.churn - 14 * DAY:
                return  # a leaving client opens nothing new (as in `_arrivals`)
            self._request(rng, account, thread, channel, replied, contact, ask, OUTREACH, fill)

    def _reviews_with_sponsor(self, rng: random.Random, account: _Account) -> None:
        at = account.first + rng.randint(20, 80) * DAY
        while at < account.stop:
            owner = self.members[account.owner_at(at)]
            moment = self.clocks[owner.schedule].between(rng, at, at + 5 * DAY)
            if moment is not None:
                sponsor = account.contact(rng, SPONSOR)
                fill = self._fill(rng, account, sponsor, moment)
                self._activity(rng, account, moment, owner.id, "ebr", fill)
                self._activity(rng, account, moment + 2 * HOUR, owner.id, "note", fill)
            at += rng.randint(84, 98) * DAY

    def _testimonial_asks(self, rng: random.Random, account: _Account) -> None:
        at = max(account.first, _midnight(account.started) + 90 * DAY) + rng.randint(0, 60) * DAY
        while at < account.stop:
            owner = self.members[account.owner_at(at)]
            moment = self.clocks[owner.schedule].between(rng, at, at + 7 * DAY)
            if moment is not None and rng.random() < self._persona(owner.id).testimonial:
                kind = "case_study_request" if rng.random() < 0.25 else "testimonial_request"
                contact = account.contact(rng, CHAMPION)
                fill = self._fill(rng, account, contact, moment)
                self._activity(rng, account, moment, owner.id, kind, fill)
            at += rng.randint(150, 200) * DAY

    def _next_steps(self, account: _Account) -> None:
        """Owners keep a next step on their accounts, at their own pace (or never)."""
        rng = self.rng("next-steps", account.id)
        at = account.first
        while at < account.stop:
            owner = self.members[account.owner_at(at)]
            persona = self._persona(owner.id)
            if persona.next_step_every is None:
                at += 7 * DAY
                continue
            moment = self.clocks[owner.schedule].add(at, rng.uniform(0, 6) * HOUR)
            local = datetime.fromtimestamp(moment, ZoneInfo(owner.timezone)).date()
            due = local + timedelta(days=rng.randint(*persona.next_step_due))
            contact = account.contact(rng, CHAMPION)
            step = rng.choice(text.NEXT_STEPS).format_map(self._fill(rng, account, contact, at))
            record = {"type": "next_step", "account": account.id, "by": owner.id, "at": moment}
            self._emit(account, moment, {**record, "text": step, "due": due.isoformat()})
            at += rng.randint(*persona.next_step_every) * DAY

    # -- revenue and sentiment

    def _opening_mrr(self, account: _Account) -> int:
        rng = self.rng("mrr", account.id)
        low, high, step = {
            "enterprise": (80, 400, 100),
            "mid-market": (40, 160, 50),
            "smb": (6, 40, 50),
        }[account.segment]
        return rng.randint(low, high) * step

    def _revenue(self, account: _Account) -> None:
        """Expansions and contractions on billing dates; a churn takes MRR to zero."""
        rng = self.rng("revenue", account.id)
        mrr = self._opening_mrr(account)
        settled = _midnight(account.started) + 60 * DAY
        eligible = [m for m in self._month_starts() if m >= settled]
        roll = rng.random()
        changes = 2 if roll < 0.12 else 1 if roll < 0.42 else 0
        owner = self.members[account.owners[0][1]]
        grows = 0.45 + 0.04 * (self._persona(owner.id).happiness - 7)
        if account.churn is not None:
            eligible = [m for m in eligible if m < account.churn - 60 * DAY]
        for at in sorted(rng.sample(eligible, min(changes, len(eligible)))):
            factor = rng.uniform(1.1, 1.6) if rng.random() < grows else rng.uniform(0.6, 0.9)
            mrr = max(50, round(mrr * factor / 50) * 50)
            self._emit(account, at, {"type": "mrr", "account": account.id, "mrr": mrr})
        if account.churn is not None:
            self._churn_lines(rng, account, mrr)

    def _churn_lines(self, rng: random.Random, account: _Account, mrr: int) -> None:
        churn = account.churn
        assert churn is not None
        account.stop = churn + 1  # the churn itself is the last event
        before = [m for m in self._month_starts() if churn - 60 * DAY <= m < churn - 20 * DAY]
        if before and rng.random() < 0.5:
            at = before[-1]
            mrr = max(50, round(mrr * 0.6 / 50) * 50)
            self._emit(account, at, {"type": "mrr", "account": account.id, "mrr": mrr})
        reason = rng.choice(text.CHURN_REASONS).format_map(_places(account.country))
        self._emit(account, churn, {"type": "churn", "account": account.id, "reason": reason})
        self._emit(account, churn, {"type": "mrr", "account": account.id, "mrr": 0})
        account.stop = churn

    def _month_starts(self) -> list[int]:
        first = datetime.fromtimestamp(self.start, UTC).date().replace(day=1)
        starts = []
        while (at := _midnight(first)) < self.end:
            if at >= self.start:
                starts.append(at)
            first = (first + timedelta(days=32)).replace(day=1)
        return starts

    def _surveys(self, account: _Account) -> None:
        """Two NPS waves a year; promoters get asked for a referral."""
        rng = self.rng("surveys", account.id)
        for wave in (75, 255):
            sent = self.start + wave * DAY + rng.randint(0, 5) * DAY
            for contact in account.contacts:
                if rng.random() >= (0.3 if contact["role"] == "executive_sponsor" else 0.45):
                    continue
                at = sent + rng.randint(1 * HOUR, 10 * DAY)
                self._nps(rng, account, contact, at)

    def _nps(self, rng: random.Random, account: _Account, contact: Record, at: int) -> None:
        owner = self.members[account.owner_at(at)]
        persona = self._persona(owner.id)
        mean = persona.happiness
        if account.churn is not None and account.churn - at < 200 * DAY:
            mean -= 2.5
        score = min(10, max(0, round(rng.gauss(mean, 1.5))))
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = rng.choice(text.NPS_COMMENTS[band])
        record = {"type": "survey", "id": "", "account": account.id, "contact": contact["id"]}
        survey = {**record, "at": at, "kind": "nps", "score": score, "comment": comment}
        if not self._emit(account, at, survey) or band != "promoter":
            return
        if rng.random() < (0.6 if persona is FAST else 0.3):
            moment = self.clocks[owner.schedule].between(rng, at + 2 * DAY, at + 12 * DAY)
            if moment is not None:
                fill = self._fill(rng, account, contact, moment)
                self._activity(rng, account, moment, owner.id, "referral_request", fill)

    # -- reviews

    def _reviews(self) -> Iterator[Record]:
        """Self and manager reviews of the last three complete months."""
        rng = self.rng("reviews")
        month = date(self.today.year, self.today.month, 1)
        months = []
        for _ in range(3):
            month = (month - timedelta(days=1)).replace(day=1)
            months.append(month.strftime("%Y-%m"))
        for member in TEAM:
            persona = member.persona
            if persona is None:
                continue
            for label in reversed(months):
                manager = _nudged(rng, [BANDS.index(_BAND[c]) for c in persona.ratings], 0.35)
                if persona.self_bias:
                    bias = persona.self_bias
                    own = [min(2, band + bias - (rng.random() < 0.3)) for band in manager]
                else:
                    own = _nudged(rng, manager, 0.3)
                for reviewer, bands in ((member.id, own), (MANAGER, manager)):
                    ratings = {m: BANDS[b] for m, b in zip(METRICS, bands, strict=True)}
                    yield {"type": "review", "csm": member.id, "month": label,
                           "reviewer": reviewer, "ratings": ratings}  # fmt: skip

    # -- output

    def _untrusted_text(self) -> None:
        """A few client messages carry markup, so the app's escaping is exercised."""
        rng = self.rng("untrusted")
        asks = [r for r in self.asks if r["channel"] == "slack"]
        for record in rng.sample(asks, 3):
            record["text"] = f"<b>urgent</b> {record['text']}"
        for record in rng.sample(asks, 2):
            record["text"] = f"{record['text']} <script>alert(1)</script>"

    def _timeline(self) -> Iterator[Record]:
        """Every dated record in time order, ids numbered in that order."""
        self.events.sort(key=lambda event: (event[0], event[1]))
        threads: dict[int, str] = {}
        numbers: Counter[str] = Counter()
        for at, _, record in self.events:
            kind = record["type"]
            record["at"] = _iso(at)
            if kind == "message":
                key = record["thread"]
                if key not in threads:
                    threads[key] = f"t-{len(threads) + 1:06d}"
                record["thread"] = threads[key]
            elif kind in ("resolve", "escalate"):
                record["thread"] = threads[record["thread"]]
            if "id" in record:
                numbers[kind] += 1
                record["id"] = f"{_PREFIX[kind]}-{numbers[kind]:06d}"
            yield record


_BAND = {"g": "green", "y": "yellow", "r": "red"}
_PREFIX = {"message": "m", "activity": "a", "survey": "s"}
OUTREACH = Topic("", (), text.OUTREACH_ANSWERS, text.OUTREACH_ANSWERS, text.OUTREACH_NOTES)


def _nudged(rng: random.Random, bands: list[int], chance: float) -> list[int]:
    """The same ratings, one of them a band up or down with `chance`."""
    bands = list(bands)
    if rng.random() < chance:
        i = rng.randrange(len(bands))
        bands[i] = min(2, max(0, bands[i] + rng.choice((-1, 1))))
    return bands


def _places(country: str) -> dict[str, str]:
    return {"country": text.COUNTRY_NAMES[country], "place": text.COUNTRY_PLACES[country]}


def _other(channel: str) -> str:
    return "email" if channel == "slack" else "slack"
