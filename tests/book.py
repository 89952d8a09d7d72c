"""Small books of business as JSON Lines, written to read like the scenario they build."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine

from keepwell.services.importing import ImportSummary, import_lines
from keepwell.store.db import transaction

SCHEDULE = {
    "type": "schedule",
    "id": "ny-9-17",
    "timezone": "America/New_York",
    "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}
MANAGER = {
    "type": "user",
    "id": "u-kyle",
    "name": "Kyle",
    "role": "manager",
    "timezone": "America/New_York",
    "schedule": "ny-9-17",
}
CSM = {
    "type": "user",
    "id": "u-ana",
    "name": "Ana",
    "email": "ana@example.com",
    "role": "csm",
    "timezone": "America/New_York",
    "schedule": "ny-9-17",
    "manager": "u-kyle",
}
ACCOUNT = {
    "type": "account",
    "id": "acme",
    "name": "Acme",
    "country": "US",
    "timezone": "America/New_York",
    "owner": "u-ana",
    "started": "2026-01-05",
    "mrr": 2500,
    "currency": "USD",
}
# The schedule TOML of PRODUCT.md 3: a split Friday, New York holidays, a closed date and a
# short Christmas Eve.
PRODUCT_SCHEDULE_TOML = """
timezone = "America/New_York"
[week]
mon = [["09:00", "17:00"]]
tue = [["09:00", "17:00"]]
wed = [["09:00", "17:00"]]
thu = [["09:00", "17:00"]]
fri = [["09:00", "13:00"], ["14:00", "18:00"]]
[holidays]
country = "US"
subdivision = "NY"
dates = ["2026-12-31"]
[days]
"2026-12-24" = [["09:00", "13:00"]]
"""

CONTACT = {"type": "contact", "id": "c-joe", "account": "acme", "name": "Joe"}
BASICS = [SCHEDULE, MANAGER, CSM, ACCOUNT, CONTACT]


def message(
    id: str, thread: str, at: str, direction: str = "inbound", **extra: Any
) -> dict[str, Any]:
    author = "c-joe" if direction == "inbound" else "u-ana"
    return {
        "type": "message",
        "id": id,
        "account": "acme",
        "thread": thread,
        "at": at,
        "author": author,
        "direction": direction,
        "channel": "slack",
        "text": f"message {id}",
        **extra,
    }


def resolve(thread: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "resolve", "thread": thread, "at": at, "by": "u-ana", **extra}


def escalate(thread: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "escalate", "thread": thread, "at": at, "by": "u-ana", "to": "u-kyle", **extra}


def lines(*records: dict[str, Any]) -> list[bytes]:
    return [orjson.dumps(record) for record in records]


def load(engine: Engine, *records: dict[str, Any], skip_invalid: bool = False) -> ImportSummary:
    with transaction(engine) as session:
        return import_lines(session, lines(*records), skip_invalid=skip_invalid)


# An account billed in euros, for the reports and rates that convert currencies.
EURO_ACCOUNT = {
    "type": "account",
    "id": "bergmann",
    "name": "Bergmann",
    "owner": "u-ana",
    "started": "2026-01-05",
    "mrr": 1000,
    "currency": "EUR",
}
