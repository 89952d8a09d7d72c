from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from book import BASICS, load, message, resolve
from keepwell.domain.sla import SlaTargets
from keepwell.services.sla import recompute_sla
from keepwell.store.db import transaction
from keepwell.store.models import Request

KYIV = {
    "type": "schedule",
    "id": "kyiv",
    "timezone": "Europe/Kyiv",
    "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}
# 2026-10-02 is a Friday; New York is at UTC-4 then.
FRIDAY_1630_NY = "2026-10-02T20:30:00Z"
MONDAY_0915_NY = "2026-10-05T13:15:00Z"


def clocks(engine: Engine, targets: SlaTargets | None = None) -> dict[str, Request]:
    with transaction(engine) as session:
        recompute_sla(session, targets or SlaTargets())
        return {r.id: r for r in session.scalars(select(Request))}


def test_it_counts_a_weekend_arrival_from_monday_opening(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-03T15:00:00Z"),
         message("m-2", "t-1", MONDAY_0915_NY, "outbound"))  # fmt: skip
    request = clocks(engine)["m-1"]
    assert request.response_seconds == 15 * 60
    assert request.first_response_due == datetime(2026, 10, 5, 14, 0, tzinfo=UTC)
    assert request.response_breached is False


def test_it_runs_the_clock_across_the_weekend_just_before_closing(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", FRIDAY_1630_NY),
         message("m-2", "t-1", MONDAY_0915_NY, "outbound"),
         resolve("t-1", "2026-10-05T17:30:00Z"))  # fmt: skip
    request = clocks(engine)["m-1"]
    assert request.response_seconds == 45 * 60
    assert request.first_response_due == datetime(2026, 10, 5, 13, 30, tzinfo=UTC)
    assert request.resolution_seconds == 30 * 60 + 4.5 * 3600
    assert request.resolution_days == pytest.approx((30 * 60 + 4.5 * 3600) / (8 * 3600))
    assert request.resolution_due == datetime(2026, 10, 5, 20, 30, tzinfo=UTC)


def test_it_flags_a_late_first_response(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"),
         message("m-2", "t-1", "2026-10-05T14:00:01Z", "outbound"))  # fmt: skip
    request = clocks(engine)["m-1"]
    assert request.response_seconds == 3601
    assert request.response_breached is True


def test_it_leaves_unanswered_requests_without_business_time(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"))
    request = clocks(engine)["m-1"]
    assert (request.response_seconds, request.response_breached) == (None, None)
    assert request.first_response_due == datetime(2026, 10, 5, 14, 0, tzinfo=UTC)


def test_it_runs_on_the_accounts_coverage_schedule_first(engine: Engine) -> None:
    account = {**BASICS[3], "schedule": "kyiv"}
    load(engine, *BASICS[:3], KYIV, account, BASICS[4],
         message("m-1", "t-1", "2026-10-05T05:30:00Z"),  # 08:30 in Kyiv, before opening
         message("m-2", "t-1", "2026-10-05T06:10:00Z", "outbound"))  # fmt: skip
    request = clocks(engine)["m-1"]
    assert request.schedule_id == "kyiv"
    assert request.response_seconds == 10 * 60


def test_it_uses_the_owners_schedule_when_the_request_opened(engine: Engine) -> None:
    kyle_in_kyiv = {**BASICS[1], "schedule": "kyiv"}
    load(engine, BASICS[0], KYIV, kyle_in_kyiv, *BASICS[2:],
         {"type": "assign", "account": "acme", "owner": "u-kyle", "at": "2026-10-10T00:00:00Z"},
         message("m-1", "t-1", "2026-10-05T13:00:00Z"),
         message("m-2", "t-2", "2026-10-12T13:00:00Z"))  # fmt: skip
    requests = clocks(engine)
    assert (requests["m-1"].schedule_id, requests["m-2"].schedule_id) == ("ny-9-17", "kyiv")


def test_it_takes_the_targets_it_is_given(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", "2026-10-05T13:00:00Z"),
         message("m-2", "t-1", "2026-10-05T13:20:00Z", "outbound"))  # fmt: skip
    targets = SlaTargets(first_response_seconds=15 * 60, resolution_business_days=2)
    request = clocks(engine, targets)["m-1"]
    assert request.response_breached is True
    assert request.resolution_due == datetime(2026, 10, 6, 21, 0, tzinfo=UTC)  # Tue 17:00


def test_a_recompute_writes_only_the_clocks_that_change(engine: Engine) -> None:
    load(engine, *BASICS, message("m-1", "t-1", FRIDAY_1630_NY),
         message("m-2", "t-1", MONDAY_0915_NY, "outbound"),
         message("m-3", "t-2", MONDAY_0915_NY))  # fmt: skip
    with transaction(engine) as session:
        same = recompute_sla(session, SlaTargets())  # the import computed them already
        stricter = recompute_sla(session, SlaTargets(first_response_seconds=600))
        again = recompute_sla(session, SlaTargets(first_response_seconds=600))
        late = session.get_one(Request, "m-1")
    assert (same.requests, same.changed) == (2, 0)
    assert (stricter.requests, stricter.changed) == (2, 2)  # new deadlines for both
    assert (again.requests, again.changed) == (2, 0)
    assert late.response_breached is True  # 45 business minutes against a 10-minute target
