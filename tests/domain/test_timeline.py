"""One timeline: owner, activity and what is in force at an instant (domain.timeline)."""

from datetime import date, datetime, timedelta

import numpy as np

from keepwell.domain.hours import (
    Schedule,
    spliced,
    to_micros,
    version_in_force,
    version_on,
)
from keepwell.domain.timeline import (
    FOREVER,
    Lifecycle,
    Ownership,
    active_flags,
    index_in_force,
    indexes_in_force,
    intersect,
    micros,
)

MICRO = timedelta(microseconds=1)
STARTED = "2026-01-05T05:00:00+00:00"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def life(churns: tuple[str, ...] = (), paid: tuple[str, ...] = ()) -> Lifecycle:
    return Lifecycle.of(at(STARTED), map(at, churns), map(at, paid))


def version(zone: str, hours: str, effective: str | None = None) -> dict:
    spec: dict = {"timezone": zone, "week": {d: [["09:00", hours]] for d in WEEKDAYS}}
    return {**spec, "effective": effective} if effective else spec


# Owner at t


def test_an_assign_is_in_force_at_its_exact_instant() -> None:
    move = at("2026-11-16T00:00:00+00:00")
    owners = Ownership.of("u-ana", [(move, "u-ben")])
    assert owners.owner_at(move - MICRO) == "u-ana"
    assert owners.owner_at(move) == "u-ben"


def test_the_account_lines_owner_answers_before_the_first_assign() -> None:
    owners = Ownership.of("u-ana", [(at("2026-11-16T00:00:00Z"), "u-ben")])
    assert owners.owner_at(at("2020-01-01T00:00:00Z")) == "u-ana"


def test_it_answers_the_owner_of_many_instants_at_once_as_one_at_a_time() -> None:
    owners = Ownership.of(
        "u-ana", [(at("2026-11-16T00:00:00Z"), "u-ben"), (at("2026-12-01T00:00:00Z"), "u-cy")]
    )
    instants = [at(f"2026-{m:02d}-{d:02d}T00:00:00Z") for m in (10, 11, 12) for d in (1, 16)]
    array = np.array([micros(i) for i in instants], dtype=np.int64)
    assert owners.owners_at(array) == [owners.owner_at(i) for i in instants]
    assert owners.owners_at(array) == ["u-ana", "u-ana", "u-ana", "u-ben", "u-cy", "u-cy"]


def test_it_gives_the_spans_in_which_one_owner_holds_the_account() -> None:
    back = at("2026-12-01T00:00:00Z")
    owners = Ownership.of("u-ana", [(at("2026-11-16T00:00:00Z"), "u-ben"), (back, "u-ana")])
    spans = owners.spans_of("u-ana")
    assert len(spans) == 2 and spans[1] == (micros(back), FOREVER)
    assert owners.spans_of("u-ben") == [(micros(at("2026-11-16T00:00:00Z")), micros(back))]


# Active at t


def test_an_account_is_not_active_at_the_exact_instant_of_its_churn() -> None:
    churn = "2026-10-06T12:00:00+00:00"
    account = life(churns=(churn,))
    assert account.active_at(at(churn) - MICRO)
    assert not account.active_at(at(churn))


def test_a_later_mrr_line_above_zero_reactivates_from_its_exact_instant() -> None:
    paid = "2026-10-14T12:00:00+00:00"
    account = life(churns=("2026-10-06T12:00:00+00:00",), paid=(paid,))
    assert not account.active_at(at(paid) - MICRO)
    assert account.active_at(at(paid))
    assert account.active_at(at("2027-06-01T00:00:00+00:00"))


def test_a_churn_after_the_reactivation_ends_it_again() -> None:
    account = life(
        churns=("2026-10-06T12:00:00Z", "2026-12-01T00:00:00Z"), paid=("2026-10-14T12:00:00Z",)
    )
    assert account.active_at(at("2026-11-30T23:59:59Z"))
    assert not account.active_at(at("2026-12-01T00:00:00Z"))
    assert [flag for _, flag in account.changes()] == [True, False, True, False]


def test_an_mrr_line_at_the_churns_instant_or_at_zero_reactivates_nothing() -> None:
    churn = "2026-10-06T12:00:00Z"
    assert not life(churns=(churn,), paid=(churn,)).active_at(at("2026-10-20T00:00:00Z"))
    # `paid` holds only the lines above zero: an mrr line at 0 is not among them
    assert not life(churns=(churn,)).active_at(at("2026-10-20T00:00:00Z"))


def test_an_mrr_line_before_the_churn_does_not_undo_it() -> None:
    account = life(churns=("2026-10-06T12:00:00Z",), paid=("2026-10-01T00:00:00Z",))
    assert not account.active_at(at("2026-10-20T00:00:00Z"))


def test_an_account_is_not_active_before_it_started() -> None:
    account = life()
    assert not account.active_at(at(STARTED) - MICRO)
    assert account.active_at(at(STARTED))


def test_an_account_as_known_earlier_has_not_yet_come_back() -> None:
    account = life(churns=("2026-10-06T12:00:00Z",), paid=("2026-10-14T12:00:00Z",))
    before = account.known_at(micros(at("2026-10-10T00:00:00Z")))
    assert not before.active_at(at("2026-10-20T00:00:00Z"))
    assert account.known_at(micros(at("2026-10-20T00:00:00Z"))) is account


def test_it_flags_many_accounts_at_once_as_one_at_a_time() -> None:
    accounts = [
        life(),
        life(churns=("2026-10-06T12:00:00Z",)),
        life(churns=("2026-10-06T12:00:00Z",), paid=("2026-10-14T12:00:00Z",)),
    ]
    moment = at("2026-10-20T00:00:00Z")
    expected = [a.active_at(moment) for a in accounts]
    assert active_flags(accounts, micros(moment)).tolist() == expected == [True, False, True]


def test_it_intersects_ownership_with_activity() -> None:
    account = life(churns=("2026-10-06T12:00:00Z",), paid=("2026-10-14T12:00:00Z",))
    owners = Ownership.of("u-ana", [(at("2026-10-20T00:00:00Z"), "u-ben")])
    ana = intersect(owners.spans_of("u-ana"), account.spans)
    assert ana == [
        (micros(at(STARTED)), micros(at("2026-10-06T12:00:00Z"))),
        (micros(at("2026-10-14T12:00:00Z")), micros(at("2026-10-20T00:00:00Z"))),
    ]


# In force at t


def test_the_first_of_effective_things_is_in_force_from_the_start_of_time() -> None:
    begins = [500, 1_000, 2_000]  # the first one's start does not matter
    assert [index_in_force(begins, t) for t in (-10, 999, 1_000, 1_999, 2_000)] == [0, 0, 1, 1, 2]
    instants = np.array([-10, 999, 1_000, 1_999, 2_000], dtype=np.int64)
    assert indexes_in_force(begins, instants).tolist() == [0, 0, 1, 1, 2]


def test_a_version_is_in_force_from_00_00_of_its_effective_date_in_its_zone() -> None:
    schedule = Schedule.from_versions(
        [
            version("America/New_York", "13:00"),
            version("America/New_York", "17:00", "2026-11-01"),
        ]
    )
    midnight = at("2026-11-01T00:00:00-04:00")  # 04:00 UTC: New York is still on EDT
    assert version_in_force(schedule, midnight - MICRO) is schedule.versions[0]
    assert version_in_force(schedule, midnight) is schedule.versions[1]
    assert version_on(schedule, date(2026, 10, 31)) is schedule.versions[0]
    assert version_on(schedule, date(2026, 11, 1)) is schedule.versions[1]


def test_schedules_spliced_by_date_take_over_at_00_00_in_the_new_schedules_zone() -> None:
    half = Schedule.from_versions([version("Europe/Kyiv", "13:00")])
    full = Schedule.from_versions(
        [version("America/New_York", "17:00"), version("America/New_York", "18:00", "2026-12-01")]
    )
    both = spliced([(date(1, 1, 1), half), (date(2026, 11, 1), full)])
    midnight = at("2026-11-01T00:00:00-04:00")
    assert version_in_force(both, midnight - MICRO) == half.versions[0]
    assert version_in_force(both, midnight).week == full.versions[0].week
    assert version_in_force(both, at("2026-12-01T12:00:00Z")) == full.versions[1]
    assert to_micros(midnight) == micros(midnight)
