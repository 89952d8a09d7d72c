"""A CSM's schedule changes from a date on (PRODUCT.md 3): earlier clocks and scorecards keep
the schedule then in force."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from book import ACCOUNT, CONTACT, CSM, MANAGER, SCHEDULE, lines, load, message, resolve
from keepwell.domain import scorecard as sc
from keepwell.services.importing import ImportRejected, import_lines
from keepwell.services.scorecard import scorecards
from keepwell.services.user_schedules import FROM_THE_START, next_history
from keepwell.store.db import transaction
from keepwell.store.models import Request, UserSchedule

AS_OF = datetime(2026, 12, 5, 12, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HALF = {**SCHEDULE, "id": "ny-20h", "week": {d: [["09:00", "13:00"]] for d in WEEKDAYS}}
FULL = {**SCHEDULE, "id": "ny-40h"}  # 09:00-17:00
PART_TIMER = {**CSM, "schedule": "ny-20h"}
FULL_TIMER = {**CSM, "schedule": "ny-40h"}
BOOSS = 1
BOSS = {**MANAGER, "schedule": "ny-40h"}
BOOK = [HALF, FULL, BOSS, PART_TIMER, ACCOUNT, CONTACT]
TRAFFIC = [
    # Tue 6 Oct 14:00 New York, answered Wed 10:00 and resolved at 12:00: 1 h on 09-13
    # (4 h on 09-17)
    message("m-1", "t-1", "2026-10-06T18:00:00Z"),
    message("m-2", "t-1", "2026-10-07T14:00:00Z", "outbound"),
    resolve("t-1", "2026-10-07T16:00:00Z"),
    # Tue 3 Nov 14:00, answered Wed 10:00: 1 h on 09-13, 4 h on 09-17
    message("m-5", "t-3", "2026-11-03T19:00:00Z"),
    message("m-6", "t-3", "2026-11-04T15:00:00Z", "outbound"),
    resolve("t-3", "2026-11-04T16:00:00Z"),
]
# Fri 30 Oct 12:00, answered Mon 2 Nov 15:00: 1 h on Friday, then 4 h or 6 h on Monday
ACROSS = [
    message("m-3", "t-2", "2026-10-30T16:00:00Z"),
    message("m-4", "t-2", "2026-11-02T20:00:00Z", "outbound"),
]


def month_json(engine: Engine, month: str) -> dict:
    with transaction(engine) as session:
        cards = scorecards(session, month, AS_OF)
    return sc.scorecards_json(month, AS_OF, cards)


def response_hours(engine: Engine) -> dict[str, float]:
    with transaction(engine) as session:
        rows = session.execute(select(Request.thread_id, Request.response_seconds))
        return {thread: seconds / 3600 for thread, seconds in rows}


def history(engine: Engine) -> list[tuple[date, str | None]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(UserSchedule.effective, UserSchedule.schedule_id)
            .where(UserSchedule.user_id == "u-ana")
            .order_by(UserSchedule.effective)
        )
        return [tuple(row) for row in rows]


def reimport(engine: Engine, *records: dict, today: date = date(2026, 12, 5)) -> None:
    with transaction(engine) as session:
        import_lines(session, lines(*records), today=today)


def test_a_schedule_change_from_a_date_leaves_the_earlier_months_scorecard_identical(
    engine: Engine,
) -> None:
    load(engine, *BOOK, *TRAFFIC)
    before = month_json(engine, "2026-10")
    assert before["scorecards"][0]["metrics"]["response_time"]["value"] == 1

    reimport(engine, {**FULL_TIMER, "schedule_effective": "2026-11-01"})

    assert month_json(engine, "2026-10") == before
    assert response_hours(engine) == {"t-1": 1, "t-3": 4}  # November on the 40-hour week
    assert month_json(engine, "2026-11")["scorecards"][0]["metrics"]["response_time"]["value"] == 4


def test_a_clock_across_the_change_counts_each_stretch_by_the_schedule_then(
    engine: Engine,
) -> None:
    load(engine, *BOOK, *ACROSS)
    assert response_hours(engine) == {"t-2": 1 + 4}
    reimport(engine, {**FULL_TIMER, "schedule_effective": "2026-11-01"})
    assert response_hours(engine) == {"t-2": 1 + 6}  # Friday on 20 hours, Monday on 40


def test_a_schedule_change_without_a_date_applies_from_the_day_of_the_import(
    engine: Engine,
) -> None:
    load(engine, *BOOK, *TRAFFIC)
    before = month_json(engine, "2026-10")

    reimport(engine, FULL_TIMER, today=date(2026, 11, 1))

    assert month_json(engine, "2026-10") == before
    assert response_hours(engine) == {"t-1": 1, "t-3": 4}
    assert history(engine) == [(FROM_THE_START, "ny-20h"), (date(2026, 11, 1), "ny-40h")]


def test_a_users_first_line_sets_the_schedule_from_the_start(engine: Engine) -> None:
    load(engine, HALF, FULL, BOSS, FULL_TIMER, ACCOUNT, CONTACT, *TRAFFIC)
    assert response_hours(engine) == {"t-1": 4, "t-3": 4}
    assert history(engine) == [(FROM_THE_START, "ny-40h")]


def test_re_importing_the_same_change_changes_nothing(engine: Engine) -> None:
    load(engine, *BOOK, *TRAFFIC)
    change = {**FULL_TIMER, "schedule_effective": "2026-11-01"}
    reimport(engine, change)
    reimport(engine, change, today=date(2027, 1, 1))
    assert history(engine) == [(FROM_THE_START, "ny-20h"), (date(2026, 11, 1), "ny-40h")]
    assert response_hours(engine) == {"t-1": 1, "t-3": 4}


def test_it_names_a_schedule_effective_that_is_not_a_date(engine: Engine) -> None:
    load(engine, *BOOK)
    with pytest.raises(ImportRejected) as rejected:
        reimport(engine, {**FULL_TIMER, "schedule_effective": "2026-13-01"})
    (error,) = rejected.value.errors
    assert (error.field, error.message) == (
        "schedule_effective",
        "not a date YYYY-MM-DD: '2026-13-01'",
    )


def test_a_change_dated_earlier_replaces_the_changes_after_it() -> None:
    history = [(FROM_THE_START, "a"), (date(2026, 11, 1), "b")]
    today = date(2026, 12, 5)
    assert next_history(history, "c", date(2026, 10, 1), today, new_user=False) == [
        (FROM_THE_START, "a"),
        (date(2026, 10, 1), "c"),
    ]
    # the same schedule, dated otherwise: the change moves
    assert next_history(history, "b", date(2026, 11, 15), today, new_user=False) == [
        (FROM_THE_START, "a"),
        (date(2026, 11, 15), "b"),
    ]
    assert next_history(history, "a", None, today, new_user=False) == [
        *history,
        (today, "a"),
    ]
