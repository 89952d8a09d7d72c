"""A book whose churn the health back-test can learn: fitted weights are offered on it."""

from __future__ import annotations

from typing import Any

from book import BASICS

QUARTER_STARTS = ("2025-10-01", "2026-01-01", "2026-04-01", "2026-07-01")


def churn_told_by_sentiment() -> list[dict[str, Any]]:
    """100 accounts; before each quarter's start every account answers an NPS survey: a
    promoter, except the 8 that churn in that quarter, detractors just before it. Health on
    engagement alone (no exchanges: 0 for all) cannot tell them apart; sentiment can."""
    records: list[dict[str, Any]] = list(BASICS[:3])
    for n in range(100):
        account, contact = f"a-{n:03}", f"c-{n:03}"
        records += [
            {**BASICS[3], "id": account, "name": f"Account {n}", "started": "2025-06-01"},
            {"type": "contact", "id": contact, "account": account, "name": f"Contact {n}"},
        ]
        churns_in = n // 8 if n < 32 else None
        for q, start in enumerate(QUARTER_STARTS):
            if churns_in is not None and q > churns_in:
                break
            score = 2 if q == churns_in else 10
            records.append({"type": "survey", "id": f"s-{n}-{q}", "account": account,
                            "contact": contact, "at": f"{start}T00:00:00Z", "kind": "nps",
                            "score": score})  # fmt: skip
        if churns_in is not None:
            month = int(QUARTER_STARTS[churns_in][5:7]) + 1
            year = QUARTER_STARTS[churns_in][:4]
            records.append({"type": "churn", "account": account,
                            "at": f"{year}-{month:02}-15T12:00:00Z"})  # fmt: skip
    return records
