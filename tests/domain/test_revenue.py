import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepwell.domain.revenue import (
    CHURN,
    CONTRACTION,
    EXPANSION,
    NEW,
    REACTIVATION,
    MissingRateError,
    Movements,
    MrrChange,
    RevenueAccount,
    RevenueError,
    book_mrr_at,
    contractions_of,
    is_active,
    month_start,
    movements,
    movements_by_group,
    mrr_at,
    mrr_daily,
    shift_month,
    trailing_12_months,
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def account(
    id: str = "acme",
    mrr: str = "100",
    started: str = "2026-01-01T00:00:00Z",
    changes: tuple[tuple[str, str], ...] = (),
    churns: tuple[str, ...] = (),
    currency: str = "USD",
) -> RevenueAccount:
    return RevenueAccount(
        id=id,
        currency=currency,
        started_at=t(started),
        mrr=Decimal(mrr),
        changes=tuple(MrrChange(t(at), Decimal(amount)) for at, amount in changes),
        churns=tuple(t(at) for at in churns),
    )


def kinds(result: Movements) -> dict[str, str | None]:
    return {m.account_id: m.kind for m in result.accounts}


# MRR at an instant


def test_it_includes_a_change_stamped_exactly_at_the_instant() -> None:
    acme = account(changes=(("2026-03-10T12:00:00Z", "250"),))
    assert mrr_at(acme, t("2026-03-10T11:59:59.999999Z")) == Decimal(100)
    assert mrr_at(acme, t("2026-03-10T12:00:00Z")) == Decimal(250)


def test_it_has_no_mrr_before_the_account_starts() -> None:
    acme = account(started="2026-02-01T00:00:00Z")
    assert mrr_at(acme, t("2026-01-31T23:59:59Z")) == 0
    assert not is_active(acme, t("2026-01-31T23:59:59Z"))
    assert mrr_at(acme, t("2026-02-01T00:00:00Z")) == Decimal(100)


def test_it_zeroes_mrr_at_a_churn_and_reactivates_at_a_later_mrr_event() -> None:
    acme = account(churns=("2026-03-01T00:00:00Z",), changes=(("2026-05-01T00:00:00Z", "80"),))
    assert mrr_at(acme, t("2026-03-01T00:00:00Z")) == 0
    assert not is_active(acme, t("2026-03-01T00:00:00Z"))
    assert mrr_at(acme, t("2026-05-01T00:00:00Z")) == Decimal(80)
    assert is_active(acme, t("2026-05-01T00:00:00Z"))


def test_it_leaves_an_account_churned_when_a_churn_and_a_change_share_an_instant() -> None:
    acme = account(churns=("2026-03-01T00:00:00Z",), changes=(("2026-03-01T00:00:00Z", "80"),))
    assert mrr_at(acme, t("2026-03-01T00:00:00Z")) == 0
    assert not is_active(acme, t("2026-03-01T00:00:00Z"))


def test_it_ignores_events_stamped_before_the_start() -> None:
    acme = account(started="2026-02-01T00:00:00Z", changes=(("2026-01-15T00:00:00Z", "999"),))
    assert mrr_at(acme, t("2026-01-20T00:00:00Z")) == 0
    assert mrr_at(acme, t("2026-02-01T00:00:00Z")) == Decimal(100)


def test_it_refuses_naive_datetimes() -> None:
    with pytest.raises(RevenueError, match="naive"):
        RevenueAccount("acme", "USD", datetime(2026, 1, 1), Decimal(1))


def test_it_lists_contractions_but_not_churns() -> None:
    acme = account(
        changes=(("2026-02-01T00:00:00Z", "60"), ("2026-03-01T00:00:00Z", "90")),
        churns=("2026-04-01T00:00:00Z",),
    )
    assert contractions_of(acme) == (t("2026-02-01T00:00:00Z"),)


# MRR per day


def test_it_gives_each_day_the_mrr_at_its_first_instant_in_the_company_zone() -> None:
    acme = account(
        started="2026-03-01T05:00:00Z",  # 2026-03-01 00:00 in New York (EST)
        changes=(("2026-03-03T05:00:00Z", "150"),),
        churns=("2026-03-04T12:00:00Z",),
    )
    daily = mrr_daily([acme], date(2026, 2, 28), date(2026, 3, 5), "America/New_York")
    assert daily.days[0] == date(2026, 2, 28)
    assert daily.mrr["acme"] == tuple(Decimal(x) for x in ("0", "100", "100", "150", "150", "0"))


def test_it_starts_days_at_local_midnight_across_a_daylight_saving_change() -> None:
    # New York springs forward on 2026-03-08; 2026-03-09 starts at 04:00Z, not 05:00Z.
    acme = account(started="2026-03-01T05:00:00Z", changes=(("2026-03-09T04:00:00Z", "7"),))
    daily = mrr_daily([acme], date(2026, 3, 8), date(2026, 3, 9), "America/New_York")
    assert daily.mrr["acme"] == (Decimal(100), Decimal(7))


# Monthly movements


def test_it_classifies_every_kind_of_movement() -> None:
    book = [
        account("grows", changes=(("2026-10-10T00:00:00Z", "130"),)),
        account("shrinks", changes=(("2026-10-10T00:00:00Z", "70"),)),
        account("leaves", churns=("2026-10-20T00:00:00Z",)),
        account("arrives", started="2026-10-05T00:00:00Z", mrr="40"),
        account(
            "returns",
            churns=("2026-05-01T00:00:00Z",),
            changes=(("2026-10-15T00:00:00Z", "90"),),
        ),
        account("stays"),
    ]
    result = movements(book, "2026-10")
    assert kinds(result) == {
        "grows": EXPANSION,
        "shrinks": CONTRACTION,
        "leaves": CHURN,
        "arrives": NEW,
        "returns": REACTIVATION,
        "stays": None,
    }
    assert (result.expansion, result.contraction, result.churn) == (30, 30, 100)
    assert (result.new, result.reactivation) == (40, 90)
    assert result.mrr_start == 400
    assert result.mrr_end == 400 + 30 - 30 - 100 + 40 + 90


def test_it_nets_out_changes_inside_the_month() -> None:
    acme = account(changes=(("2026-10-05T00:00:00Z", "500"), ("2026-10-25T00:00:00Z", "100")))
    result = movements([acme], "2026-10")
    assert kinds(result) == {"acme": None}
    assert result.expansion == result.contraction == 0


def test_it_counts_a_churn_stamped_at_the_next_months_first_instant_in_the_next_month() -> None:
    acme = account(churns=("2026-11-01T00:00:00Z",))
    october = movements([acme], "2026-10")
    assert (october.mrr_end, october.churn, october.accounts_churned) == (100, 0, 0)
    assert october.logo_churn == 0.0
    november = movements([acme], "2026-11")
    assert (november.mrr_start, november.churn, november.accounts_start) == (100, 100, 1)
    assert november.logo_churn == 1.0


def test_it_counts_a_change_stamped_at_the_months_first_instant_in_that_month() -> None:
    acme = account(changes=(("2026-10-01T00:00:00Z", "300"),))
    assert mrr_at(acme, t("2026-10-01T00:00:00Z")) == 300  # in force at its instant
    october = movements([acme], "2026-10")
    assert (october.mrr_start, october.expansion, october.mrr_end) == (100, 200, 300)
    september = movements([acme], "2026-09")
    assert (september.mrr_end, september.expansion) == (100, 0)


def test_it_gives_an_upgrade_and_a_cancellation_at_1_december_local_midnight_to_december() -> None:
    berlin = "Europe/Berlin"  # 1 December 00:00 in Berlin is 30 November 23:00 UTC
    upgrade = account("up", changes=(("2026-11-30T23:00:00Z", "250"),))
    cancel = account("gone", churns=("2026-11-30T23:00:00Z",))
    november = movements([upgrade, cancel], "2026-11", berlin)
    december = movements([upgrade, cancel], "2026-12", berlin)
    assert kinds(november) == {"up": None, "gone": None}
    assert (november.expansion, november.churn, november.accounts_churned) == (0, 0, 0)
    assert kinds(december) == {"up": EXPANSION, "gone": CHURN}
    assert (december.mrr_start, december.expansion, december.churn) == (200, 150, 100)
    assert december.logo_churn == 0.5


def test_it_counts_an_account_started_on_the_months_first_day_as_new_in_that_month() -> None:
    acme = account(started="2026-10-01T00:00:00Z", mrr="70")
    assert kinds(movements([acme], "2026-09")) == {"acme": None}
    october = movements([acme], "2026-10")
    assert (kinds(october), october.new, october.accounts_start) == ({"acme": NEW}, 70, 0)


def test_it_counts_an_account_whose_mrr_goes_to_zero_without_a_churn_line_as_logo_churn() -> None:
    book = [account("cancelled", changes=(("2026-10-12T00:00:00Z", "0"),)), account("stays")]
    result = movements(book, "2026-10")
    assert kinds(result) == {"cancelled": CHURN, "stays": None}
    assert (result.accounts_start, result.accounts_churned) == (2, 1)
    assert result.logo_churn == 0.5


def test_it_leaves_an_account_at_zero_mrr_at_the_months_start_out_of_the_logo_count() -> None:
    book = [
        account("free", mrr="0"),
        account("lapsed", changes=(("2026-08-01T00:00:00Z", "0"),)),
        account("leaves", churns=("2026-10-20T00:00:00Z",)),
    ]
    result = movements(book, "2026-10")
    assert (result.accounts_start, result.accounts_churned) == (1, 1)
    assert result.logo_churn == 1.0


def test_it_tells_a_reactivation_from_a_new_account() -> None:
    pays = (("2026-10-03T00:00:00Z", "50"),)
    book = [
        account("paid-before", churns=("2026-08-01T00:00:00Z",), changes=pays),
        account("free-until-now", mrr="0", changes=pays),
    ]
    result = movements(book, "2026-10")
    assert kinds(result) == {"paid-before": REACTIVATION, "free-until-now": NEW}
    assert (result.reactivation, result.new) == (50, 50)


def test_it_computes_nrr_grr_and_logo_churn_by_hand() -> None:
    book = [
        account("a", mrr="400", changes=(("2026-10-15T00:00:00Z", "500"),)),
        account("b", mrr="300", changes=(("2026-10-15T00:00:00Z", "200"),)),
        account("c", mrr="300", churns=("2026-10-15T00:00:00Z",)),
        account("d", mrr="50", started="2026-10-15T00:00:00Z"),
    ]
    result = movements(book, "2026-10")
    assert result.mrr_start == 1000
    assert result.mrr_end == 750
    assert result.nrr == pytest.approx(0.7)  # (1000 + 100 - 100 - 300) / 1000
    assert result.grr == pytest.approx(0.6)  # (1000 - 100 - 300) / 1000
    assert (result.accounts_start, result.accounts_churned) == (3, 1)
    assert result.logo_churn == pytest.approx(1 / 3)


def test_it_leaves_ratios_empty_without_revenue_or_accounts_at_the_start() -> None:
    result = movements([account(started="2026-10-15T00:00:00Z")], "2026-10")
    assert (result.nrr, result.grr, result.logo_churn) == (None, None, None)
    assert result.new == 100


def test_it_does_not_count_a_churn_undone_inside_the_month_as_logo_churn() -> None:
    acme = account(churns=("2026-10-05T00:00:00Z",), changes=(("2026-10-20T00:00:00Z", "100"),))
    result = movements([acme], "2026-10")
    assert (result.accounts_start, result.accounts_churned) == (1, 0)


def test_it_cuts_months_in_the_company_zone() -> None:
    # 2026-11-01T02:00Z is still October 31 in New York.
    acme = account(churns=("2026-11-01T02:00:00Z",))
    assert movements([acme], "2026-10", "America/New_York").churn == 100
    assert movements([acme], "2026-10", "UTC").churn == 0
    assert month_start("2026-11", "America/New_York") == t("2026-11-01T04:00:00Z")


def test_it_writes_the_json_the_reports_use() -> None:
    data = movements([account(mrr="99.50")], "2026-10").to_json()
    assert set(data) == {
        "month",
        "mrr_start",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "mrr_end",
        "nrr",
        "grr",
        "logo_churn",
        "accounts_start",
        "accounts_churned",
        "currency",
    }
    assert data["mrr_start"] == 99.5
    assert data["new"] == 0 and isinstance(data["new"], int)
    assert data["nrr"] == 1.0
    assert data["currency"] == "USD"
    json.dumps(data)


def test_it_refuses_a_month_that_is_not_one() -> None:
    with pytest.raises(RevenueError, match="month"):
        movements([account()], "2026-13")


def test_it_shifts_months_across_years() -> None:
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2026-10", -11) == "2025-11"
    assert shift_month("2026-12", 1) == "2027-01"


# Trailing twelve months


def test_it_computes_trailing_twelve_months_over_the_cohort_paying_at_its_start() -> None:
    book = [
        account(
            "grows", started="2025-06-01T00:00:00Z", changes=(("2026-03-01T00:00:00Z", "150"),)
        ),
        account("leaves", started="2025-06-01T00:00:00Z", churns=("2026-02-01T00:00:00Z",)),
        account(
            "shrinks", started="2025-06-01T00:00:00Z", changes=(("2026-07-01T00:00:00Z", "50"),)
        ),
        account("arrives", started="2026-01-01T00:00:00Z", mrr="500"),
    ]
    result = trailing_12_months(book, "2026-10")  # 2025-11-01 to 2026-11-01
    assert result.first_month == "2025-11"
    assert result.mrr_start == 300
    assert result.nrr == pytest.approx(200 / 300)  # 150 + 0 + 50, the new account left out
    assert result.grr == pytest.approx(150 / 300)  # 100 (capped) + 0 + 50
    assert result.logo_churn == pytest.approx(1 / 3)
    assert result.new == 500
    assert result.to_json()["first_month"] == "2025-11"


def test_it_counts_a_reactivation_inside_the_trailing_window_at_its_end_mrr() -> None:
    acme = account(
        started="2025-06-01T00:00:00Z",
        churns=("2026-01-01T00:00:00Z",),
        changes=(("2026-04-01T00:00:00Z", "120"),),
    )
    result = trailing_12_months([acme], "2026-10")
    assert kinds(result) == {"acme": EXPANSION}
    assert result.nrr == pytest.approx(1.2)
    assert result.grr == 1.0
    assert result.accounts_churned == 0


# Breakdowns


def test_it_breaks_movements_down_by_a_callers_grouping() -> None:
    book = [
        account("a", churns=("2026-10-15T00:00:00Z",)),
        account("b", mrr="200"),
        account("c", mrr="300"),
    ]
    groups = movements_by_group(book, "2026-10", {"a": "u-ana", "b": "u-ana", "c": "u-ben"})
    assert set(groups) == {"u-ana", "u-ben"}
    assert groups["u-ana"].mrr_start == 300
    assert groups["u-ana"].logo_churn == pytest.approx(0.5)
    assert groups["u-ben"].nrr == 1.0


def test_it_groups_accounts_missing_from_the_mapping_under_none() -> None:
    groups = movements_by_group([account("a"), account("b")], "2026-10", {"a": "smb"})
    assert set(groups) == {"smb", None}


# Currencies


def test_it_converts_a_book_of_several_currencies_to_the_base_at_the_given_rates() -> None:
    book = [
        account("us", mrr="100", churns=("2026-10-10T00:00:00Z",)),
        account("eu", mrr="200", currency="EUR"),
    ]
    result = movements(book, "2026-10", rates={"EUR": Decimal("1.10")})
    assert result.currency == "USD"
    assert result.mrr_start == Decimal("320.00")
    assert result.churn == 100
    assert result.nrr == pytest.approx(220 / 320)
    eu = next(m for m in result.accounts if m.account_id == "eu")
    assert (eu.currency, eu.mrr_start) == ("EUR", 200)  # amounts stay in their currency


def test_it_names_the_currency_whose_rate_is_missing() -> None:
    book = [account("us"), account("gb", currency="GBP"), account("eu", currency="EUR")]
    with pytest.raises(MissingRateError, match="GBP") as caught:
        movements(book, "2026-10", rates={"EUR": Decimal("1.1")})
    assert caught.value.currency == "GBP"


def test_it_reports_a_single_currency_book_in_its_own_currency_without_rates() -> None:
    book = [account("a", currency="EUR"), account("b", currency="EUR", mrr="50")]
    result = movements(book, "2026-10", base_currency="USD")
    assert (result.currency, result.mrr_start) == ("EUR", 150)


def test_it_reports_every_group_in_the_whole_books_currency() -> None:
    book = [account("us"), account("eu", currency="EUR")]
    groups = movements_by_group(book, "2026-10", {"us": "x", "eu": "y"}, rates={"EUR": Decimal(2)})
    assert groups["y"].currency == "USD"
    assert groups["y"].mrr_start == 200


def test_it_totals_the_books_mrr_at_an_instant() -> None:
    book = [account("us"), account("eu", currency="EUR")]
    total = book_mrr_at(book, t("2026-10-01T00:00:00Z"), rates={"EUR": Decimal("1.5")})
    assert total == (Decimal("250.0"), "USD")


# Properties

amounts = st.integers(min_value=0, max_value=5).map(lambda n: Decimal(n * 50))
instants = st.integers(min_value=0, max_value=400).map(
    lambda days: t("2026-01-01T00:00:00Z") + timedelta(days=days)
)
accounts = st.builds(
    lambda i, start, mrr, changes, churns: RevenueAccount(
        f"a{i}", "USD", start, mrr, tuple(MrrChange(at, x) for at, x in changes), tuple(churns)
    ),
    st.integers(0, 10**6),
    instants,
    amounts,
    st.lists(st.tuples(instants, amounts), max_size=4),
    st.lists(instants, max_size=2),
)


@given(st.lists(accounts, max_size=6, unique_by=lambda a: a.id))
def test_its_movements_always_bridge_start_to_end(book: list[RevenueAccount]) -> None:
    result = movements(book, "2026-06")
    bridge = (
        result.mrr_start
        + result.new
        + result.reactivation
        + result.expansion
        - result.contraction
        - result.churn
    )
    assert bridge == result.mrr_end
    assert result.accounts_start == sum(m.mrr_start > 0 for m in result.accounts)
    assert result.accounts_churned == sum(m.kind == CHURN for m in result.accounts)
