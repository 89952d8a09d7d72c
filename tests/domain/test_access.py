"""The role matrix and the sign-in throttle of issue 13 §1, as plain data."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.domain.access import (
    MATRIX,
    Action,
    Attempt,
    UnknownRole,
    can,
    may_ever,
    role_of,
    throttled_until,
)

ACCOUNT_WRITES = [
    Action.RESOLVE,
    Action.ESCALATE,
    Action.SET_NEXT_STEP,
    Action.LOG_ACTIVITY,
    Action.WRITE_NOTE,
]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_an_admin_may_do_everything_but_rate_someone_elses_month_as_their_own() -> None:
    assert all(can("admin", action) for action in Action if action != Action.WRITE_SELF_REVIEW)
    assert not may_ever("admin", Action.WRITE_SELF_REVIEW)


def test_a_csm_reads_and_writes_only_their_own_reviews() -> None:
    assert can("csm", Action.READ_REVIEWS, owns=True)
    assert not can("csm", Action.READ_REVIEWS, owns=False)
    assert can("csm", Action.WRITE_SELF_REVIEW, owns=True)
    assert not can("csm", Action.WRITE_SELF_REVIEW, owns=False)
    assert not may_ever("csm", Action.WRITE_MANAGER_REVIEW)


def test_a_manager_reads_the_reviews_of_their_own_csms_only_and_never_self_reviews() -> None:
    assert can("manager", Action.READ_REVIEWS, owns=True)
    assert not can("manager", Action.READ_REVIEWS, owns=False)
    assert not may_ever("manager", Action.WRITE_SELF_REVIEW)


def test_every_role_reads_the_book() -> None:
    assert all(can(role, Action.READ_BOOK) for role in ("admin", "manager", "csm", "viewer"))


def test_a_viewer_writes_nothing_and_sees_no_scorecard() -> None:
    assert [a for a in Action if may_ever("viewer", a)] == [Action.READ_BOOK]


def test_a_manager_reads_every_scorecard_and_overrides_bands() -> None:
    assert can("manager", Action.READ_SCORECARD)
    assert can("manager", Action.OVERRIDE_HEALTH)


def test_a_manager_reviews_only_the_csms_who_report_to_them() -> None:
    assert can("manager", Action.WRITE_MANAGER_REVIEW, owns=True)
    assert not can("manager", Action.WRITE_MANAGER_REVIEW, owns=False)


def test_a_manager_does_not_write_on_accounts() -> None:
    assert not any(can("manager", action, owns=False) for action in ACCOUNT_WRITES)


@pytest.mark.parametrize("action", ACCOUNT_WRITES)
def test_a_csm_writes_only_on_the_accounts_they_own(action: Action) -> None:
    assert can("csm", action, owns=True)
    assert not can("csm", action, owns=False)


def test_a_csm_reads_only_their_own_scorecard_and_overrides_nothing() -> None:
    assert can("csm", Action.READ_SCORECARD, owns=True)
    assert not can("csm", Action.READ_SCORECARD, owns=False)
    assert not may_ever("csm", Action.OVERRIDE_HEALTH)
    assert not may_ever("csm", Action.ADMINISTER)


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(may_ever("owner", action) for action in Action)
    with pytest.raises(UnknownRole, match="one of admin, manager, csm, viewer"):
        role_of("owner")


def test_every_action_has_a_rule() -> None:
    assert set(MATRIX) == set(Action)


def test_four_failures_do_not_throttle() -> None:
    attempts = [Attempt(minutes(n), False) for n in range(4)]
    assert throttled_until(attempts, minutes(4)) is None


def test_five_failures_throttle_until_the_oldest_is_fifteen_minutes_old() -> None:
    attempts = [Attempt(minutes(n), False) for n in range(5)]
    assert throttled_until(attempts, minutes(5)) == minutes(15)
    assert throttled_until(attempts, minutes(14.99)) == minutes(15)
    assert throttled_until(attempts, minutes(15)) is None


def test_failures_spread_over_more_than_fifteen_minutes_do_not_throttle() -> None:
    attempts = [Attempt(minutes(n * 4), False) for n in range(5)]  # 0, 4, ... 16
    assert throttled_until(attempts, minutes(16.5)) is None


def test_the_latest_five_failures_decide_when_it_opens() -> None:
    attempts = [Attempt(minutes(n), False) for n in range(7)]
    assert throttled_until(attempts, minutes(7)) == minutes(2 + 15)


def test_a_success_before_the_failures_does_not_help_but_clears_older_ones() -> None:
    attempts = [
        *[Attempt(minutes(n), False) for n in range(4)],
        Attempt(minutes(4), True),
        Attempt(minutes(5), False),
    ]
    assert throttled_until(attempts, minutes(6)) is None
    more = [*attempts, *[Attempt(minutes(6 + n), False) for n in range(4)]]
    assert throttled_until(more, minutes(10)) == minutes(20)
