"""Bulk writes: what goes in comes back exactly, on both databases."""

from datetime import date

from sqlalchemy import Engine, select

from book import BASICS, load
from keepwell.store import bulk
from keepwell.store.db import transaction
from keepwell.store.models import Base, HealthRun

SNAPSHOTS = Base.metadata.tables["health_snapshots"]


def test_column_inserts_keep_awkward_text_and_every_bit_of_a_float(engine: Engine) -> None:
    load(engine, *BASICS)
    awkward = ["tab\there", "new\nline", "back\\slash", "cr\rlf", "plain", "\\N"]
    scores = [0.1 + 0.2, 1 / 3, 100.0, 5e-324, None, 42.0]
    day = date(2026, 10, 8)
    with transaction(engine) as session:
        session.add(HealthRun(day=day, weights={}, accounts=len(awkward)))
        session.flush()
        columns = [awkward, [day] * 6, scores, ["green", None, "red", "yellow", None, "red"]]
        bulk.insert_columns(
            session.connection(), SNAPSHOTS, ("account_id", "day", "score", "band"), columns
        )
    with transaction(engine) as session:
        rows = session.execute(
            select(SNAPSHOTS.c.account_id, SNAPSHOTS.c.day, SNAPSHOTS.c.score, SNAPSHOTS.c.band)
        ).all()
    assert sorted(map(tuple, rows), key=lambda r: r[0]) == sorted(
        zip(awkward, [day] * 6, scores, columns[3], strict=True), key=lambda r: r[0]
    )
