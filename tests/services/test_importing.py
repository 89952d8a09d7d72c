from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from book import BASICS, CONTACT, escalate, lines, load, message, resolve
from keepwell.services.importing import ImportRejected, import_lines
from keepwell.services.stats import record_counts
from keepwell.store.db import make_engine, migrate, transaction
from keepwell.store.models import Account, Message, Request


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database: what a first import of a book builds."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def all_requests(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return sorted(map(tuple, connection.execute(Request.__table__.select())))


def requests_of(engine: Engine) -> list[Request]:
    with transaction(engine) as session:
        return list(session.scalars(select(Request).order_by(Request.opened_at)))


def counts(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        return record_counts(session)


def test_it_imports_every_type_of_record(engine: Engine) -> None:
    summary = load(
        engine,
        *BASICS,
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        message("m-2", "t-1", "2026-10-01T14:20:00Z", "outbound"),
        resolve("t-1", "2026-10-01T15:40:00Z", note="Re-ran the export"),
        escalate("t-1", "2026-10-01T14:10:00Z", novel=True),
        {"type": "activity", "id": "a-1", "account": "acme", "by": "u-ana",
         "at": "2026-10-05T09:00:00Z", "kind": "check_in"},
        {"type": "next_step", "account": "acme", "by": "u-ana", "at": "2026-10-05T09:05:00Z",
         "text": "Send Q4 plan", "due": "2026-10-12"},
        {"type": "assign", "account": "acme", "owner": "u-kyle", "at": "2026-11-16T00:00:00Z"},
        {"type": "churn", "account": "acme", "at": "2026-11-30T00:00:00Z"},
        {"type": "mrr", "account": "acme", "at": "2026-11-01T00:00:00Z", "mrr": 3000},
        {"type": "survey", "id": "s-1", "account": "acme", "contact": "c-joe",
         "at": "2026-10-20T12:00:00Z", "kind": "nps", "score": 9, "comment": "Fast answers"},
        {"type": "review", "csm": "u-ana", "month": "2026-10", "reviewer": "u-kyle",
         "ratings": {"retention": "green", "response_time": "yellow"}},
    )  # fmt: skip
    assert summary.lines == 16
    assert all(t.added == 1 for name, t in summary.types.items() if name not in ("user", "message"))
    assert counts(engine) == {
        "schedule": 1, "user": 2, "account": 1, "contact": 1, "message": 2, "resolve": 1,
        "escalate": 1, "activity": 1, "next_step": 1, "assign": 1, "churn": 1, "mrr": 1,
        "survey": 1, "review": 1, "request": 1,
    }  # fmt: skip
    (request,) = requests_of(engine)
    assert request.first_response_at == datetime(2026, 10, 1, 14, 20, tzinfo=UTC)
    assert request.resolution_note == "Re-ran the export"
    assert (request.escalations, request.novel) == (1, True)


def test_it_changes_nothing_when_the_same_file_comes_twice(engine: Engine) -> None:
    book = [
        *BASICS,
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        resolve("t-1", "2026-10-02T09:00:00Z"),
    ]
    load(engine, *book)
    before = (counts(engine), [r.id for r in requests_of(engine)])
    again = load(engine, *book)
    assert not again.changed
    assert all(t.unchanged == t.added + t.updated + t.unchanged for t in again.types.values())
    assert (counts(engine), [r.id for r in requests_of(engine)]) == before
    assert again.requests_rebuilt == 0


def test_it_sees_the_same_content_in_another_layout_as_unchanged(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"))
    again = load(engine, message("m-1", "t-1", "2026-10-01T16:03:00+02:00"))
    assert vars(again.types["message"]) == {"added": 0, "updated": 0, "unchanged": 1}


def test_it_updates_a_record_whose_content_changed(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z", text="first"))
    again = load(engine, message("m-1", "t-1", "2026-10-01T14:03:00Z", text="edited"))
    assert vars(again.types["message"]) == {"added": 0, "updated": 1, "unchanged": 0}
    with transaction(engine) as session:
        assert session.get(Message, "m-1").text == "edited"  # type: ignore[union-attr]


def test_it_counts_a_repeated_line_once_and_lets_the_last_one_win(engine: Engine) -> None:
    first = message("m-1", "t-1", "2026-10-01T14:03:00Z", text="first")
    last = message("m-1", "t-1", "2026-10-01T14:03:00Z", text="last")
    summary = load(engine, *BASICS, first, first, last)
    assert vars(summary.types["message"]) == {"added": 1, "updated": 1, "unchanged": 1}
    with transaction(engine) as session:
        assert session.get(Message, "m-1").text == "last"  # type: ignore[union-attr]


def test_it_imports_nothing_from_a_file_with_a_bad_line(engine: Engine) -> None:
    with pytest.raises(ImportRejected) as rejected:
        load(
            engine,
            *BASICS,
            message("m-1", "t-1", "2026-10-01T14:03:00"),
            message("m-2", "t-1", "2026-10-01T14:03:00Z", direction="sideways"),
            {**CONTACT, "id": "c-ann", "account": "nobody"},
            {"type": "survey", "id": "s", "account": "acme", "at": "2026-10-01T00:00:00Z",
             "kind": "csat", "score": 9},
            {"type": "mystery"},
        )  # fmt: skip
    found = [(e.line, e.field) for e in rejected.value.errors]
    assert found == [(6, "at"), (7, "direction"), (8, "account"), (9, ""), (10, "type")]
    assert "has no offset" in rejected.value.errors[0].message
    assert "unknown account 'nobody'" in rejected.value.errors[2].message
    assert "csat scores run 1..5" in rejected.value.errors[3].message
    assert sum(counts(engine).values()) == 0


def test_it_names_a_line_that_is_not_json(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(ImportRejected) as rejected:
        import_lines(session, [*lines(*BASICS), b"{not json"])
    (error,) = rejected.value.errors
    assert error.line == 6 and "not valid JSON" in error.message


def test_it_rejects_unknown_fields_by_name(engine: Engine) -> None:
    with pytest.raises(ImportRejected) as rejected:
        load(engine, *BASICS, {**CONTACT, "id": "c-2", "emial": "x@example.com"})
    assert [(e.line, e.field, e.message) for e in rejected.value.errors] == [
        (6, "emial", "unknown field")
    ]


def test_it_skips_bad_lines_and_what_depends_on_them_when_asked(engine: Engine) -> None:
    summary = load(
        engine,
        *BASICS,
        {"type": "account", "id": "bad", "name": "Bad", "started": "someday"},
        {**CONTACT, "id": "c-bad", "account": "bad"},
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        skip_invalid=True,
    )
    assert [(e.line, e.field) for e in summary.skipped] == [(6, "started"), (7, "account")]
    assert counts(engine)["contact"] == 1
    assert counts(engine)["message"] == 1


def test_it_follows_references_to_lines_further_down(engine: Engine) -> None:
    summary = load(
        engine,
        resolve("t-1", "2026-10-01T15:00:00Z"),
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        *reversed(BASICS),
    )
    assert summary.types["message"].added == 1
    (request,) = requests_of(engine)
    assert request.resolved_at == datetime(2026, 10, 1, 15, tzinfo=UTC)


def test_it_follows_references_to_records_already_stored(engine: Engine) -> None:
    load(engine, *BASICS)
    load(engine, message("m-1", "t-1", "2026-10-01T14:03:00Z"))
    assert len(requests_of(engine)) == 1


def test_it_keeps_a_thread_with_one_account(engine: Engine) -> None:
    other = {"type": "account", "id": "globex", "name": "Globex", "started": "2026-01-01"}
    load(engine, *BASICS, other, message("m-1", "t-1", "2026-10-01T14:03:00Z"))
    with pytest.raises(ImportRejected) as rejected:
        load(engine, message("m-2", "t-1", "2026-10-01T15:00:00Z", account="globex"))
    assert "belongs to account 'acme'" in rejected.value.errors[0].message


def test_it_accepts_reviews_only_from_the_csm_or_their_manager(engine: Engine) -> None:
    stranger = {"type": "user", "id": "u-zed", "name": "Zed", "role": "csm", "timezone": "UTC"}
    review = {"type": "review", "csm": "u-ana", "month": "2026-10", "ratings": {"retention": "red"}}
    load(engine, *BASICS, stranger, {**review, "reviewer": "u-ana"})
    with pytest.raises(ImportRejected) as rejected:
        load(engine, {**review, "reviewer": "u-zed"})
    assert rejected.value.errors[0].field == "reviewer"


def test_it_extends_a_thread_that_an_earlier_import_started(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"))
    load(
        engine,
        message("m-2", "t-1", "2026-10-01T14:30:00Z", "outbound"),
        resolve("t-1", "2026-10-01T16:00:00Z"),
        message("m-3", "t-1", "2026-10-02T09:00:00Z"),
    )
    first, second = requests_of(engine)
    assert (first.id, first.first_response_id, first.resolved_at is not None) == (
        "m-1",
        "m-2",
        True,
    )
    assert (second.id, second.first_response_at) == ("m-3", None)


def test_it_rebuilds_the_same_requests_however_the_lines_arrive(engine: Engine) -> None:
    thread = [
        message("m-1", "t-1", "2026-10-01T14:03:00Z"),
        message("m-2", "t-1", "2026-10-01T14:05:00Z"),
        message("m-3", "t-1", "2026-10-01T14:30:00Z", "outbound"),
        escalate("t-1", "2026-10-01T14:40:00Z"),
        resolve("t-1", "2026-10-01T16:00:00Z"),
        message("m-4", "t-1", "2026-10-03T09:00:00Z"),
    ]
    load(engine, *BASICS, *thread[3:])
    load(engine, *thread[:3])
    pieced = [
        (r.id, r.first_response_id, r.resolved_at, r.escalations) for r in requests_of(engine)
    ]
    assert pieced == [
        ("m-1", "m-3", datetime(2026, 10, 1, 16, tzinfo=UTC), 1),
        ("m-4", None, None, 0),
    ]


def test_a_message_moved_to_a_new_thread_leaves_its_old_thread_and_opens_the_new_one(
    engine: Engine, fresh: Engine
) -> None:
    reply = message("m-2", "t-1", "2026-10-01T14:20:00Z", "outbound")
    later = message("m-3", "t-1", "2026-10-02T10:00:00Z")
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"), reply, later)
    moved = message("m-1", "t-2", "2026-10-01T14:03:00Z")
    summary = load(engine, moved)
    assert summary.types["message"].updated == 1
    load(fresh, *BASICS, moved, reply, later)
    assert all_requests(engine) == all_requests(fresh)
    assert {(r.id, r.thread_id) for r in requests_of(engine)} == {("m-1", "t-2"), ("m-3", "t-1")}


def test_a_message_moved_into_an_existing_thread_opens_its_request_there(
    engine: Engine, fresh: Engine
) -> None:
    others = [
        message("m-2", "t-1", "2026-10-01T14:20:00Z", "outbound"),
        message("m-5", "t-2", "2026-10-02T10:00:00Z"),
        message("m-6", "t-2", "2026-10-02T10:30:00Z", "outbound"),
        resolve("t-2", "2026-10-02T11:00:00Z"),
    ]
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-01T14:03:00Z"), *others)
    moved = message("m-1", "t-2", "2026-10-01T14:03:00Z")  # earlier than m-5: it opens t-2
    load(engine, moved)
    load(fresh, *BASICS, moved, *others)
    assert all_requests(engine) == all_requests(fresh)
    assert [(r.id, r.thread_id) for r in requests_of(engine)] == [("m-1", "t-2")]


def test_it_keeps_amounts_exact(engine: Engine) -> None:
    load(engine, *BASICS[:3], {**BASICS[3], "mrr": "2500.75"})
    with transaction(engine) as session:
        assert session.get(Account, "acme").mrr == Decimal("2500.75")  # type: ignore[union-attr]


def test_a_large_load_refreshes_the_planner_statistics_inside_the_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell.services import importing

    monkeypatch.setattr(importing, "ANALYZE_FROM", 1)  # every table written counts as large
    summary = load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))
    assert summary.types["message"].added == 1
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT reltuples FROM pg_class WHERE relname = 'messages'"
        else:  # one line per index, the rows counted first; never analyzed: no line
            query = (
                "SELECT substr(stat, 1, instr(stat, ' ') - 1) FROM sqlite_stat1 "
                "WHERE tbl = 'messages'"
            )
        counted = {float(n) for n in connection.execute(text(query)).scalars()}
    assert counted == {1}  # what ANALYZE counted; never analyzed reads -1 on PostgreSQL
