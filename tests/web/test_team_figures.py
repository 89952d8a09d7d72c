"""`/team` shows the figures `keepwell scorecard --json` prints, for the same month and moment,
on the demo book (issue 14, "Done when"); and every figure's evidence holds what it counted."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from keepwell.cli.app import app as cli
from keepwell.config import get_settings
from keepwell.web.app import create_app
from people import sign_in

MONTH, AS_OF = "2026-10", "2026-11-20T12:00:00+00:00"
MANAGER = "maya.goldberg@example.com"
DEMO_PASSWORD = "keepwell-demo"
runner = CliRunner()


class Cells(HTMLParser):
    """The data-* attributes of the scorecard table: per CSM, the total cell, each metric's
    cell, the triggers, and the figures' links."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, dict[str, Any]] = {}
        self.csm: str | None = None
        self.metric: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-csm" in a:
            self.csm = a["data-csm"]
            self.cards[self.csm or ""] = {"metrics": {}, "triggers": [], "links": {}}
        if self.csm is None:
            return
        card = self.cards[self.csm]
        if tag == "td" and "data-total" in a:
            card.update(
                total=_json(a["data-total"]), earned=_json(a["data-earned"]),
                possible=_json(a["data-possible"]), scaled=_json(a["data-scaled"]),
                band=a["data-band"] or None,
            )  # fmt: skip
        if tag == "td" and "data-metric" in a:
            self.metric = a["data-metric"]
            card["metrics"][self.metric] = {
                "value": _json(a["data-value"]), "band": a["data-band"] or None,
                "points": _json(a["data-points"]), "max": int(a["data-max"] or 0),
                "n": int(a["data-n"] or 0),
            }  # fmt: skip
        if tag == "a" and self.metric and self.metric not in card["links"]:
            card["links"][self.metric] = a["href"]
        if tag == "li" and "data-rule" in a:
            card["triggers"].append({"metric": a["data-metric"], "rule": a["data-rule"]})

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.metric = None
        if tag == "tr":
            self.csm = None


def _json(value: str | None) -> Any:
    return orjson.loads(value or "null")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The demo book (loaded once for the module), the CLI's JSON of MONTH at AS_OF, and a
    manager's signed-in client."""
    from keepwell.store.db import make_engine, migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine: Engine = make_engine(url)
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEEPWELL_DATABASE_URL", url)
        get_settings.cache_clear()
        loaded = runner.invoke(cli, ["demo", "--today", "2026-11-20"])
        assert loaded.exit_code == 0, loaded.output
        args = ["scorecard", "--month", MONTH, "--as-of", AS_OF, "--json"]
        printed = runner.invoke(cli, args)
        assert printed.exit_code == 0, printed.output
        with TestClient(create_app(engine)) as client:
            sign_in(client, MANAGER, DEMO_PASSWORD)
            yield client, orjson.loads(printed.stdout)
    get_settings.cache_clear()
    engine.dispose()


def _team(client: TestClient) -> dict[str, dict[str, Any]]:
    answer = client.get("/team", params={"month": MONTH, "as_of": AS_OF})
    assert answer.status_code == 200, answer.text
    cells = Cells()
    cells.feed(answer.text)
    return cells.cards


def test_the_team_page_shows_the_clis_figures(demo: tuple[TestClient, dict[str, Any]]) -> None:
    client, document = demo
    shown = _team(client)
    assert list(shown) == [card["csm"] for card in document["scorecards"]]
    for card in document["scorecards"]:
        page = shown[card["csm"]]
        for key in ("total", "earned", "possible", "scaled", "band"):
            assert page[key] == card[key], (card["csm"], key)
        assert page["metrics"] == card["metrics"], card["csm"]
        assert page["triggers"] == card["triggers"], card["csm"]
    # the demo's CSMs differ: the comparison covered red figures and fired triggers
    bands = {m["band"] for c in document["scorecards"] for m in c["metrics"].values()}
    assert {"green", "yellow", "red"} <= bands
    assert any(card["triggers"] for card in document["scorecards"])


EVIDENCE_ROWS = {
    "retention": "accounts", "testimonials": "accounts", "response_time": "requests",
    "resolution_time": "requests", "independence": "requests", "crm_hygiene": "account_days",
    "self_awareness": "ratings",
}  # fmt: skip


def test_every_figure_leads_to_the_records_it_counted(
    demo: tuple[TestClient, dict[str, Any]],
) -> None:
    client, _ = demo
    card = _team(client)["u-lukas"]
    for key, figure in card["metrics"].items():
        if figure["value"] is None:
            assert key not in card["links"], key  # n/a is no link
            continue
        answer = client.get(card["links"][key])
        assert answer.status_code == 200, key
        assert f"data-value='{orjson.dumps(figure['value']).decode()}'" in answer.text, key
        kind = EVIDENCE_ROWS.get(key)
        if kind is not None:
            rows = answer.text.count(f'data-kind="{kind}"') and (
                answer.text.count("<tr data-account=")
                + answer.text.count("<tr data-request=")
                + answer.text.count("<tr data-metric=")
            )
            assert rows == figure["n"], key
