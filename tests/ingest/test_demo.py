"""The demo book: a realistic year of a CSM team, checked on the records themselves."""

from __future__ import annotations

import importlib.resources
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from keepwell.ingest.demo import PERSONAS, demo_rates, generate_demo, write_demo
from keepwell.ingest.jsonl import check_references, parse_lines
from keepwell.ingest.records import RATED_METRICS

TODAY = date(2026, 3, 16)
END = datetime(2026, 3, 16, tzinfo=UTC)
FAST = PERSONAS["fast owner"]
FORWARDER = PERSONAS["forwarder"]
SLOW = PERSONAS["slow"]
NO_NEXT_STEPS = PERSONAS["no next steps"]

Record = dict[str, Any]


@pytest.fixture(scope="module")
def book() -> list[Record]:
    return list(generate_demo(seed=7, today=TODAY))


def of(book: list[Record], kind: str) -> list[Record]:
    return [r for r in book if r["type"] == kind]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def threads_of(book: list[Record]) -> dict[str, list[Record]]:
    threads: dict[str, list[Record]] = defaultdict(list)
    for message in of(book, "message"):
        threads[message["thread"]].append(message)
    return threads


def requests_of(book: list[Record]) -> list[tuple[Record, Record | None]]:
    """Each thread's first client message and the first reply by a person after it."""
    found = []
    for messages in threads_of(book).values():
        opened = next((m for m in messages if m["direction"] == "inbound"), None)
        if opened is None:
            continue
        reply = next(
            (
                m
                for m in messages
                if m["direction"] == "outbound"
                and not m.get("automated")
                and m["at"] >= opened["at"]
            ),
            None,
        )
        found.append((opened, reply))
    return found


def csms(book: list[Record]) -> list[str]:
    return [u["id"] for u in of(book, "user") if u["role"] == "csm"]


def zones_of_countries() -> dict[str, set[str]]:
    table = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    zones: dict[str, set[str]] = defaultdict(set)
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            zones[country].add(zone)
    return zones


def test_it_gives_the_same_records_for_the_same_seed_and_day(book: list[Record]) -> None:
    assert list(generate_demo(seed=7, today=TODAY)) == book


def test_another_seed_gives_another_book(book: list[Record]) -> None:
    other = list(generate_demo(seed=8, today=TODAY))
    assert other[:8] == book[:8]  # the same schedules
    assert of(other, "message")[:50] != of(book, "message")[:50]


def test_every_line_starts_with_its_type(book: list[Record]) -> None:
    assert all(next(iter(record)) == "type" for record in book)


def test_the_importer_accepts_every_line(book: list[Record]) -> None:
    batch = parse_lines(orjson.dumps(record) for record in book)
    assert batch.errors == []
    errors = check_references(batch, lambda kind, ids: set(), lambda ids: {}, lambda ids: {})
    assert errors == []


def test_it_has_the_teams_schedules_with_a_versioned_part_time_week(book: list[Record]) -> None:
    schedules = of(book, "schedule")
    ids = {s["id"] for s in schedules}
    assert {"kyiv-40h", "ny-40h", "berlin-40h", "manila-20h", "sydney-40h", "sp-40h"} <= ids
    part_time = [s for s in schedules if s["id"] == "manila-20h"]
    assert len(part_time) == 2
    effective = date.fromisoformat(part_time[1]["effective"])
    assert 120 <= (TODAY - effective).days <= 200
    assert part_time[1]["week"] == {d: [["09:00", "13:00"]] for d in part_time[1]["week"]}
    assert any(s.get("days") for s in schedules), "a date-specific half day"
    assert any(s.get("holidays", {}).get("dates") for s in schedules), "an extra closed day"


def test_a_few_premium_accounts_carry_the_24x5_coverage_schedule(book: list[Record]) -> None:
    coverage = next(s for s in of(book, "schedule") if s["id"] == "support-24x5")
    assert coverage["timezone"] == "UTC"
    covered = [a for a in of(book, "account") if a.get("schedule") == "support-24x5"]
    assert 3 <= len(covered) <= 8
    assert {a["segment"] for a in covered} == {"enterprise"}


def test_it_has_a_manager_an_admin_and_six_csms_in_six_time_zones(book: list[Record]) -> None:
    users = of(book, "user")
    roles = Counter(u["role"] for u in users)
    assert roles["manager"] == 1 and roles["admin"] == 1 and roles["csm"] >= 6
    manager = next(u["id"] for u in users if u["role"] == "manager")
    team = [u for u in users if u["role"] == "csm"]
    assert len({u["timezone"] for u in team}) >= 6
    assert all(u["manager"] == manager and u["schedule"] for u in team)
    assert [u["id"] for u in team if u["schedule"] == "manila-20h"] == [
        PERSONAS["solid, 20-hour week"]
    ]


def test_it_has_150_accounts_in_their_countries_time_zones(book: list[Record]) -> None:
    accounts = of(book, "account")
    zones = zones_of_countries()
    assert len(accounts) == 150
    assert len({a["country"] for a in accounts}) >= 8
    assert all(a["timezone"] in zones[a["country"]] for a in accounts)
    assert set(Counter(a["owner"] for a in accounts)) == set(csms(book))
    assert {a["segment"] for a in accounts} == {"enterprise", "mid-market", "smb"}
    assert all(isinstance(a["mrr"], int) and a["mrr"] > 0 for a in accounts)
    assert {"USD", "EUR", "GBP"} <= {a["currency"] for a in accounts}
    ages = [(TODAY - date.fromisoformat(a["started"])).days for a in accounts]
    assert min(ages) < 60 and max(ages) > 600


def test_every_account_has_two_to_four_contacts_with_roles(book: list[Record]) -> None:
    contacts = of(book, "contact")
    per_account = Counter(c["account"] for c in contacts)
    assert set(per_account.values()) <= {2, 3, 4}
    assert len(per_account) == 150
    assert {c["role"] for c in contacts} == {"champion", "executive_sponsor", "user"}
    assert all(re.fullmatch(r"[a-z.]+@[a-z0-9]+\.example", c["email"]) for c in contacts)


def test_it_has_a_year_of_traffic_that_ends_yesterday(book: list[Record]) -> None:
    messages = of(book, "message")
    assert len(messages) >= 30_000
    days = sorted(instant(m["at"]).date() for m in messages)
    assert days[0] <= TODAY - timedelta(days=358)
    assert days[-1] == TODAY - timedelta(days=1)
    assert [m["id"] for m in messages[:2]] == ["m-000001", "m-000002"]
    assert len({m["id"] for m in messages}) == len(messages)
    assert all(re.fullmatch(r"t-\d{6}", m["thread"]) for m in messages)


def test_most_requests_are_answered_and_resolved_and_a_few_are_left_open(
    book: list[Record],
) -> None:
    requests = requests_of(book)
    resolved = {r["thread"] for r in of(book, "resolve")}
    assert sum(reply is not None for _, reply in requests) / len(requests) > 0.97
    assert len(resolved) / len(requests) > 0.9
    recent = [opened for opened, _ in requests if instant(opened["at"]) > END - timedelta(days=3)]
    assert any(opened["thread"] not in resolved for opened in recent)
    team = set(csms(book))
    assert all(r["by"] in team and r["note"] for r in of(book, "resolve"))


def test_clients_sometimes_write_again_before_the_first_response(book: list[Record]) -> None:
    again = 0
    for messages in threads_of(book).values():
        directions = [m["direction"] for m in messages if not m.get("automated")]
        if directions[:2] == ["inbound", "inbound"]:
            again += 1
    assert again > 500


def test_clients_write_mostly_in_their_working_hours(book: list[Record]) -> None:
    zones = {a["id"]: ZoneInfo(a["timezone"]) for a in of(book, "account")}
    local = [instant(opened["at"]).astimezone(zones[opened["account"]]) for opened, _ in
             requests_of(book)]  # fmt: skip
    working = [t for t in local if t.weekday() < 5 and 8 <= t.hour < 19]
    assert 0.75 < len(working) / len(local) < 0.97
    assert sum(t.weekday() >= 5 for t in local) > 50


def test_csms_reach_out_with_new_threads_and_every_kind_of_activity(book: list[Record]) -> None:
    outreach = [ms[0] for ms in threads_of(book).values() if ms[0]["direction"] == "outbound"]
    assert len(outreach) > 500
    kinds = Counter(a["kind"] for a in of(book, "activity"))
    assert set(kinds) == {
        "check_in", "call", "meeting", "ebr", "testimonial_request", "case_study_request",
        "referral_request", "note",
    }  # fmt: skip
    assert kinds["check_in"] > 1000


def test_the_slow_csm_answers_clearly_the_slowest_and_the_fast_one_the_fastest(
    book: list[Record],
) -> None:
    delays: dict[str, list[float]] = defaultdict(list)
    for opened, reply in requests_of(book):
        if reply is not None:
            hours = (instant(reply["at"]) - instant(opened["at"])).total_seconds() / 3600
            delays[reply["author"]].append(hours)
    median = {csm: statistics.median(hours) for csm, hours in delays.items()}
    others = [hours for csm, hours in median.items() if csm != SLOW]
    assert median[SLOW] > 2 * max(others)
    assert median[FAST] == min(median.values()) and median[FAST] < 0.5


def test_the_forwarder_escalates_most_and_asks_the_manager_internally(book: list[Record]) -> None:
    escalations = of(book, "escalate")
    by = Counter(e["by"] for e in escalations)
    assert by.most_common(1)[0][0] == FORWARDER
    assert FAST not in by
    owned = {opened["thread"] for opened, reply in requests_of(book) if reply and
             reply["author"] == FORWARDER}  # fmt: skip
    escalated = {e["thread"] for e in escalations if e["by"] == FORWARDER}
    assert len(escalated & owned) / len(owned) > 0.3
    assert any(e["novel"] for e in escalations if e["by"] == FORWARDER)
    internal = Counter(m["author"] for m in of(book, "message") if m["direction"] == "internal")
    assert max(csms(book), key=lambda csm: internal[csm]) == FORWARDER


def test_the_forwarders_replies_copy_the_managers_words(book: list[Record]) -> None:
    manager = next(u["id"] for u in of(book, "user") if u["role"] == "manager")
    copied = total = 0
    for messages in threads_of(book).values():
        for i, message in enumerate(messages):
            if message["author"] != manager:
                continue
            reply = next((m for m in messages[i:] if m["direction"] == "outbound"), None)
            if reply is None or reply["author"] != FORWARDER:
                continue
            total += 1
            copied += message["text"] in reply["text"]
    assert total > 300 and copied / total > 0.9


def test_every_csm_but_one_keeps_next_steps_due_one_to_three_weeks_out(
    book: list[Record],
) -> None:
    steps = of(book, "next_step")
    by = Counter(s["by"] for s in steps)
    assert by[NO_NEXT_STEPS] == 0
    assert all(by[csm] >= 100 for csm in csms(book) if csm != NO_NEXT_STEPS)
    ahead = [(date.fromisoformat(s["due"]) - instant(s["at"]).date()).days for s in steps]
    assert min(ahead) >= 5 and max(ahead) <= 22
    assert by.most_common(1)[0][0] == FAST


def test_some_next_steps_go_stale_before_the_next_one(book: list[Record]) -> None:
    latest: dict[str, Record] = {}
    stale = Counter()
    for step in of(book, "next_step"):
        previous = latest.get(step["account"])
        if previous and date.fromisoformat(previous["due"]) < instant(step["at"]).date():
            stale[previous["by"]] += 1
        latest[step["account"]] = step
    assert stale[SLOW] > 50 and stale[FAST] == 0


def test_some_accounts_churn_and_go_quiet(book: list[Record]) -> None:
    churns = {c["account"]: c["at"] for c in of(book, "churn")}
    assert 12 <= len(churns) <= 18
    dated = [r for r in book if "at" in r and r["type"] not in ("churn", "mrr")]
    assert all(r["at"] < churns[r["account"]] for r in dated if r.get("account") in churns)
    zeroed = {m["account"] for m in of(book, "mrr") if m["mrr"] == 0 and m["at"] == churns.get(
        m["account"])}  # fmt: skip
    assert zeroed == set(churns)


def test_mrr_expands_and_contracts(book: list[Record]) -> None:
    mrr = {a["id"]: a["mrr"] for a in of(book, "account")}
    moves = Counter()
    for change in of(book, "mrr"):
        before, mrr[change["account"]] = mrr[change["account"]], change["mrr"]
        moves["up" if change["mrr"] > before else "down"] += 1
    assert moves["up"] > 15 and moves["down"] > 15


def test_clients_answer_nps_and_csat_surveys(book: list[Record]) -> None:
    surveys = of(book, "survey")
    nps = [s["score"] for s in surveys if s["kind"] == "nps"]
    csat = [s["score"] for s in surveys if s["kind"] == "csat"]
    assert len(nps) > 100 and set(nps) <= set(range(11)) and min(nps) <= 6 and max(nps) >= 9
    assert len(csat) > 100 and set(csat) <= set(range(1, 6))
    assert any(s["comment"] for s in surveys)


def test_long_standing_accounts_are_asked_for_testimonials(book: list[Record]) -> None:
    started = {a["id"]: date.fromisoformat(a["started"]) for a in of(book, "account")}
    asks = [a for a in of(book, "activity") if a["kind"] in (
        "testimonial_request", "case_study_request")]  # fmt: skip
    asked = {a["account"] for a in asks}
    assert len(asked) > 60
    assert all((instant(a["at"]).date() - started[a["account"]]).days >= 89 for a in asks)


def test_a_few_accounts_change_owner_during_the_year(book: list[Record]) -> None:
    owner = {a["id"]: a["owner"] for a in of(book, "account")}
    assigns = of(book, "assign")
    assert 3 <= len(assigns) <= 10
    assert all(a["owner"] != owner[a["account"]] and a["owner"] in csms(book) for a in assigns)


def test_every_csm_has_a_self_and_a_manager_review_of_the_last_three_months(
    book: list[Record],
) -> None:
    manager = next(u["id"] for u in of(book, "user") if u["role"] == "manager")
    reviews = of(book, "review")
    keys = {(r["csm"], r["month"], r["reviewer"]) for r in reviews}
    expected = {
        (csm, month, reviewer)
        for csm in csms(book)
        for month in ("2025-12", "2026-01", "2026-02")
        for reviewer in (csm, manager)
    }
    assert keys == expected and len(reviews) == len(expected)
    assert all(set(r["ratings"]) == set(RATED_METRICS) for r in reviews)


def test_the_slow_csm_rates_themself_greener_than_the_manager_does(book: list[Record]) -> None:
    points = {"green": 2, "yellow": 1, "red": 0}

    def greenness(reviewer: str) -> int:
        return sum(
            points[rating]
            for r in of(book, "review")
            if r["csm"] == SLOW and (r["reviewer"] == SLOW) == (reviewer == SLOW)
            for rating in r["ratings"].values()
        )

    assert greenness(SLOW) >= greenness("manager") + 10


def test_every_reference_resolves(book: list[Record]) -> None:
    users = {u["id"] for u in of(book, "user")}
    contact_account = {c["id"]: c["account"] for c in of(book, "contact")}
    accounts = {a["id"] for a in of(book, "account")}
    threads = threads_of(book)
    for messages in threads.values():
        assert len({m["account"] for m in messages}) == 1
        for m in messages:
            if m["direction"] == "inbound":
                assert contact_account[m["author"]] == m["account"]
            else:
                assert m["author"] in users
    for action in of(book, "resolve") + of(book, "escalate"):
        assert action["thread"] in threads
        assert action["at"] > threads[action["thread"]][0]["at"]
    for record in of(book, "activity") + of(book, "next_step") + of(book, "escalate"):
        assert record["by"] in users
    for survey in of(book, "survey"):
        assert contact_account[survey["contact"]] == survey["account"]
    assert {r["account"] for r in book if "account" in r and r["type"] != "contact"} <= accounts


def test_nothing_happens_before_an_account_starts_or_from_today_on(book: list[Record]) -> None:
    started = {a["id"]: date.fromisoformat(a["started"]) for a in of(book, "account")}
    dated = [r for r in book if "at" in r and "account" in r]
    assert all(re.search(r"(Z|[+-]\d\d:\d\d)$", r["at"]) for r in dated)
    assert all(instant(r["at"]) < END for r in dated)
    assert all(instant(r["at"]).date() >= started[r["account"]] for r in dated)
    assert all(instant(r["at"]) < END for r in of(book, "resolve") + of(book, "escalate"))


def test_a_few_client_messages_carry_markup_for_the_escaping_to_handle(
    book: list[Record],
) -> None:
    inbound = [m["text"] for m in of(book, "message") if m["direction"] == "inbound"]
    assert 1 <= sum("<script>alert(1)</script>" in t for t in inbound) <= 3
    assert any("<b>urgent</b>" in t for t in inbound)


def test_write_demo_writes_the_lines_and_counts_them(book: list[Record], tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    counts = write_demo(path, seed=7, today=TODAY)
    lines = path.read_bytes().splitlines()
    assert counts == dict(Counter(r["type"] for r in book))
    assert [orjson.loads(line) for line in lines] == book


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def test_no_generated_text_repeats_a_word(book: list[Record]) -> None:
    doubled = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
    found = {match.group(0) for r in book for s in strings_in(r) for match in doubled.finditer(s)}
    assert found == set()


def test_the_team_closes_every_request_within_three_weeks(book: list[Record]) -> None:
    resolved = {r["thread"] for r in of(book, "resolve")}
    still_open = [opened for opened, _ in requests_of(book) if opened["thread"] not in resolved]
    assert still_open, "the last days' requests are still open"
    assert min(instant(opened["at"]) for opened in still_open) > END - timedelta(days=21)


def test_the_slow_csm_marks_a_few_requests_resolved_days_after_the_last_reply(
    book: list[Record],
) -> None:
    last_reply: dict[str, str] = {}
    for message in of(book, "message"):
        if message["direction"] == "outbound":
            last_reply[message["thread"]] = message["at"]
    late = Counter(
        r["by"]
        for r in of(book, "resolve")
        if instant(r["at"]) - instant(last_reply[r["thread"]]) > timedelta(days=3)
    )
    assert late[SLOW] >= 5 and late.most_common(1)[0][0] == SLOW
    assert late[FAST] == 0


def test_it_has_rates_for_its_currencies_into_the_base_currency(book: list[Record]) -> None:
    currencies = {a["currency"] for a in of(book, "account")}
    assert set(demo_rates("USD")) == currencies - {"USD"}
    assert demo_rates("USD") == {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
    assert demo_rates("EUR") == {"USD": Decimal("0.92592593"), "GBP": Decimal("1.17592593")}
    assert demo_rates("JPY") == {}  # a base the demo cannot price: the admin sets them
