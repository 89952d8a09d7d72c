"""A client that came back: a churn, then a later `mrr` line above zero (domain.timeline).
Every use case counts it again from the reactivation on, and not in between."""

from datetime import UTC, date, datetime
from itertools import product

from sqlalchemy import Engine, select

from book import ACCOUNT, BASICS, load
from keepwell.domain.revenue import day_start
from keepwell.services import browse
from keepwell.services.book import load_book
from keepwell.services.ownership import active_at
from keepwell.services.scorecard import scorecards
from keepwell.store.db import transaction
from keepwell.store.models import Account

AS_OF = datetime(2026, 11, 5, 12, tzinfo=UTC)
CHURN = {"type": "churn", "account": "acme", "at": "2026-10-06T12:00:00Z"}  # Tue 08:00 NY
BACK = {"type": "mrr", "account": "acme", "at": "2026-10-14T12:00:00Z", "mrr": 900}  # Wed


def october(engine: Engine, *records: dict) -> dict:
    load(engine, *BASICS, *records)
    with transaction(engine) as session:
        (card,) = scorecards(session, "2026-10", AS_OF)
    return card.metrics


def test_a_reactivated_account_counts_again_in_its_csms_proactivity(engine: Engine) -> None:
    evidence = october(engine, CHURN, BACK)["proactivity"].evidence
    # the week of the 12th started while it was churned; those of the 19th and 26th after
    assert evidence.weeks == (date(2026, 10, 5), date(2026, 10, 19), date(2026, 10, 26))
    assert [row.week_start for row in evidence.account_weeks] == list(evidence.weeks)


def test_a_reactivated_account_counts_again_in_its_csms_crm_hygiene(engine: Engine) -> None:
    # beside it, one whose later mrr line is at zero: that brings nothing back
    zeroed = [
        {**ACCOUNT, "id": "zeroed"},
        {**CHURN, "account": "zeroed"},
        {**BACK, "account": "zeroed", "mrr": 0},
    ]
    metric = october(engine, CHURN, BACK, *zeroed)["crm_hygiene"]
    days = [row.day.day for row in metric.evidence.account_days if row.account_id == "acme"]
    # active on the 6th (churned at 08:00, after the day began), not on the 14th (back at
    # 08:00), from the 15th on; weekends and Columbus Day (the 12th) are not working days
    assert days == [1, 2, 5, 6, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30]
    zeroed_days = [row.day.day for row in metric.evidence.account_days if row.account_id != "acme"]
    assert zeroed_days == [1, 2, 5, 6]
    assert metric.n == len(days) + len(zeroed_days)


def test_browsing_active_accounts_agrees_with_the_scorecard(engine: Engine) -> None:
    load(engine, *BASICS, CHURN, BACK)

    def active(now: str) -> list[str]:
        where = browse.AccountFilter(active=True)
        with transaction(engine) as session:
            page = browse.list_accounts(session, where, datetime.fromisoformat(now), 10, 0)
        return [account.id for account, _ in page.items]

    assert active("2026-10-06T11:59:59Z") == ["acme"]
    assert active("2026-10-06T12:00:00Z") == []
    assert active("2026-10-14T11:59:59Z") == []
    assert active("2026-10-14T12:00:00Z") == ["acme"]


def test_the_sql_form_of_active_agrees_with_the_domain_on_every_instant(engine: Engine) -> None:
    """Accounts with every order of churns and payments, asked at every instant that
    matters (each event, a microsecond before it, and the start of the account's day)."""
    instants = ["2026-10-06T12:00:00Z", "2026-10-14T12:00:00Z", "2026-10-20T00:00:00Z"]
    records: list[dict] = []
    for n, (churns, paid) in enumerate(product(range(8), repeat=2)):  # every pair of subsets
        account = f"a-{n}"
        records.append({**ACCOUNT, "id": account, "started": "2026-10-06"})
        records += [
            {"type": "churn", "account": account, "at": at}
            for i, at in enumerate(instants)
            if churns >> i & 1
        ]
        records += [
            {"type": "mrr", "account": account, "at": at, "mrr": 100 * (i + 1)}
            for i, at in enumerate(instants)
            if paid >> i & 1
        ]
    load(engine, *BASICS, *records)
    moments = [datetime.fromisoformat(t) for t in instants] + [
        day_start(date(2026, 10, 6), "UTC"),
        datetime(2026, 10, 5, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 10, 14, 11, 59, 59, 999999, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    ]
    with transaction(engine) as session:
        lives = load_book(session).lifecycles("UTC")
        for moment in moments:
            in_sql = set(session.scalars(select(Account.id).where(active_at(moment, "UTC"))))
            in_domain = {a for a, life in lives.items() if life.active_at(moment)}
            assert in_sql == in_domain, moment
