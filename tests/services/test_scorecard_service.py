from datetime import UTC, date, datetime

import orjson
import pytest
from sqlalchemy import Engine

from book import BASICS, load, message
from keepwell.domain import scorecard as sc
from keepwell.ingest.demo import PERSONAS, generate_demo
from keepwell.services.importing import import_lines
from keepwell.services.scorecard import UnknownCsm, history, scorecards, scorecards_of_months
from keepwell.store.db import transaction

AS_OF = datetime(2026, 11, 5, 12, tzinfo=UTC)


def test_it_counts_an_unanswered_request_up_to_the_evaluation_moment(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))  # Mon 09:00 NY
    with transaction(engine) as session:
        (card,) = scorecards(session, "2026-10", datetime(2026, 10, 5, 15, tzinfo=UTC))
    response = card.metrics["response_time"]
    assert (response.value, response.n, response.band) == (2.0, 1, "red")
    assert card.triggers == (sc.Trigger("response_time", "red in any month"),)


def test_it_names_an_unknown_csm(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(UnknownCsm):
        scorecards(session, "2026-10", AS_OF, csm_id="u-nobody")


def test_it_gives_a_csm_twelve_months_oldest_first(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        cards = history(session, "u-ana", "2026-10", AS_OF)
    assert [c.month for c in cards][0::11] == ["2025-11", "2026-10"]


@pytest.fixture(scope="module")
def demo_cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sc.Scorecard]:
    from conftest import POSTGRES_URL
    from keepwell.store.db import make_engine, migrate

    url = POSTGRES_URL or f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    with transaction(engine) as session:
        records = generate_demo(seed=7, today=date(2026, 11, 23))
        import_lines(session, (orjson.dumps(r) for r in records))
    with transaction(engine) as session:
        cards = {c.csm: c for c in scorecards(session, "2026-10", AS_OF)}
    if POSTGRES_URL:
        from conftest import _empty_postgres

        _empty_postgres()
    engine.dispose()
    return cards


def test_the_demo_forwarder_is_red_on_independence(demo_cards: dict[str, sc.Scorecard]) -> None:
    assert demo_cards[PERSONAS["forwarder"]].metrics["independence"].band == "red"


def test_the_demo_slow_csm_is_red_on_response_time(demo_cards: dict[str, sc.Scorecard]) -> None:
    assert demo_cards[PERSONAS["slow"]].metrics["response_time"].band == "red"


def test_the_demo_csm_without_next_steps_is_red_on_hygiene(
    demo_cards: dict[str, sc.Scorecard],
) -> None:
    assert demo_cards[PERSONAS["no next steps"]].metrics["crm_hygiene"].band == "red"


def test_the_demo_fast_owner_is_green_overall(demo_cards: dict[str, sc.Scorecard]) -> None:
    assert demo_cards[PERSONAS["fast owner"]].band == "green"


def _everything(cards: list[sc.Scorecard]) -> list[dict]:
    return [
        {**c.to_json(), "evidence": {k: m.evidence.to_json() for k, m in c.metrics.items()}}
        for c in cards
    ]


def test_a_run_of_months_scores_each_month_as_a_single_month_call_does(engine: Engine) -> None:
    ben = {**BASICS[2], "id": "u-ben", "name": "Ben", "email": "ben@example.com"}
    load(
        engine,
        *BASICS,
        ben,
        message("m-1", "t-1", "2026-09-08T13:00:00Z"),
        message("m-2", "t-1", "2026-09-08T15:00:00Z", "outbound"),
        message("m-3", "t-2", "2026-10-06T13:00:00Z"),
        {"type": "assign", "account": "acme", "owner": "u-ben", "at": "2026-10-15T00:00:00Z"},
        message("m-4", "t-3", "2026-10-20T13:00:00Z"),
        {"type": "next_step", "account": "acme", "by": "u-ana", "at": "2026-09-01T12:00:00Z",
         "text": "Call", "due": "2026-09-20"},
        {"type": "activity", "id": "act-1", "account": "acme", "by": "u-ana",
         "at": "2026-09-09T12:00:00Z", "kind": "check_in"},
    )  # fmt: skip
    months = ["2026-08", "2026-09", "2026-10"]
    with transaction(engine) as session:
        run = scorecards_of_months(session, months, AS_OF)
        one_by_one = {month: scorecards(session, month, AS_OF) for month in months}
    for month in months:
        assert _everything(run[month]) == _everything(one_by_one[month])
    october = {c.csm: c for c in run["2026-10"]}
    assert october["u-ana"].metrics["response_time"].n == 1  # t-2; t-3 opened under Ben
    assert october["u-ben"].metrics["response_time"].n == 1


def test_a_month_not_started_is_an_error_for_one_month_and_skipped_in_a_history(
    engine: Engine,
) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        with pytest.raises(sc.ScorecardError, match="before 2026-12 starts"):
            scorecards(session, "2026-12", AS_OF)
        cards = history(session, "u-ana", "2026-12", AS_OF)
    assert [c.month for c in cards][-1] == "2026-11"
    assert len(cards) == 11  # 2026-01 … 2026-11: December has not started


def test_evidence_rows_are_listed_only_when_looked_at() -> None:
    built: list[int] = []

    def rows() -> tuple[int, ...]:
        built.append(1)
        return (1, 2, 3)

    lazy = sc.Lazy(rows)
    assert built == []
    assert lazy == (1, 2, 3)
    assert len(lazy) == 3
    assert 2 in lazy
    assert list(lazy[1:]) == [2, 3]
    assert built == [1]  # built once


def test_response_time_across_dst_and_a_holiday_lands_exactly_on_the_1_h_boundary(
    engine: Engine,
) -> None:
    load(
        engine,
        *BASICS,
        # Fri 16:30 EDT -> Mon 09:30 EST: half an hour each side of a weekend that ends DST
        message("m-1", "t-1", "2026-10-30T20:30:00Z"),
        message("m-2", "t-1", "2026-11-02T14:30:00Z", "outbound"),
        # Wed 16:30 EST -> Fri 09:30 EST: Thanksgiving (Thu) is closed
        message("m-3", "t-2", "2026-11-25T21:30:00Z"),
        message("m-4", "t-2", "2026-11-27T14:30:00Z", "outbound"),
    )
    as_of = datetime(2026, 12, 1, 12, tzinfo=UTC)
    with transaction(engine) as session:
        cards = scorecards_of_months(session, ["2026-10", "2026-11"], as_of)
    for month in ("2026-10", "2026-11"):
        (card,) = cards[month]
        response = card.metrics["response_time"]
        assert (response.value, response.n) == (1.0, 1), month
        assert response.band == "yellow", month  # green is below 1 h: exactly 1 h is not
