import pytest
from sqlalchemy import Engine

from book import BASICS, load
from keepwell.services.revenue import Money, nps_report, revenue_report
from keepwell.store.db import transaction

SECOND = {
    "type": "account",
    "id": "globex",
    "name": "Globex",
    "owner": "u-ana",
    "started": "2026-02-01",
    "mrr": 1000,
    "segment": "smb",
}


def test_it_reports_a_months_movements_with_breakdowns(engine: Engine) -> None:
    load(
        engine,
        *BASICS,
        SECOND,
        {"type": "mrr", "account": "acme", "at": "2026-10-15T00:00:00Z", "mrr": 3000},
        {"type": "churn", "account": "globex", "at": "2026-11-01T00:00:00Z"},
    )
    with transaction(engine) as session:
        report = revenue_report(session, "2026-10", Money())
        november = revenue_report(session, "2026-11", Money())
    # The churn stamped at 1 November 00:00 is November's (PRODUCT.md 6).
    assert (report["mrr_start"], report["expansion"], report["churn"]) == (3500, 500, 0)
    assert report["nrr"] == (3500 + 500) / 3500
    assert report["logo_churn"] == 0.0
    assert report["by"]["csm"]["u-ana"]["accounts_start"] == 2
    assert report["trailing_12_months"]["first_month"] == "2025-11"
    assert (november["mrr_start"], november["churn"], november["logo_churn"]) == (4000, 1000, 0.5)
    assert november["nrr"] == (4000 - 1000) / 4000
    assert november["by"]["segment"]["smb"]["churn"] == 1000


def test_it_reports_nps_by_csm(engine: Engine) -> None:
    survey = {"type": "survey", "account": "acme", "contact": "c-joe", "kind": "nps"}
    load(
        engine,
        *BASICS,
        {**survey, "id": "s1", "at": "2026-10-02T10:00:00Z", "score": 10},
        {**survey, "id": "s2", "at": "2026-10-03T10:00:00Z", "score": 3},
        {**survey, "id": "s3", "at": "2026-10-04T10:00:00Z", "score": 9},
        {**survey, "id": "s4", "at": "2026-11-01T10:00:00Z", "score": 0},
    )
    with transaction(engine) as session:
        report = nps_report(session, "2026-10", "UTC")
    assert (report["responses"], report["promoters"], report["detractors"]) == (3, 2, 1)
    assert report["nps"] == pytest.approx(100 / 3)
    assert report["by"]["csm"]["u-ana"]["responses"] == 3


def test_an_upgrade_at_1_december_midnight_in_the_company_zone_is_decembers(
    engine: Engine,
) -> None:
    load(
        engine,
        *BASICS,
        {"type": "mrr", "account": "acme", "at": "2026-12-01T00:00:00+01:00", "mrr": 4000},
    )
    berlin = Money(timezone="Europe/Berlin")
    with transaction(engine) as session:
        november = revenue_report(session, "2026-11", berlin)
        december = revenue_report(session, "2026-12", berlin)
    assert (november["mrr_end"], november["expansion"]) == (2500, 0)
    assert (december["mrr_start"], december["expansion"], december["mrr_end"]) == (2500, 1500, 4000)
