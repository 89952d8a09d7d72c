from datetime import UTC, date, datetime

import orjson
import pytest
from sqlalchemy import Engine

from book import BASICS, load, message
from keepwell.domain import scorecard as sc
from keepwell.ingest.demo import PERSONAS, generate_demo
from keepwell.services.importing import import_lines
from keepwell.services.scorecard import UnknownCsm, history, scorecards
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
