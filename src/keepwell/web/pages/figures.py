"""How the report pages write figures: amounts with two decimals (the currency named in the
column), ratios as percentages, n/a for a figure that has none. Each figure cell also carries
its raw value (`data-value`, JSON) under a name (`data-figure`): what a test or a script
compares with the CLI's JSON."""

from __future__ import annotations

from typing import Any

NA = "n/a"


def amount(value: float | int | None) -> str:
    return NA if value is None else f"{value:,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    return NA if value is None else f"{value * 100:.{digits}f}%"


def score(value: float | None) -> str:
    """An NPS (−100..100) or an AUC-like figure, to one decimal."""
    return NA if value is None else f"{value:.1f}"


def auc(value: float | None) -> str:
    return NA if value is None else f"{value:.3f}"


def count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


HELPERS: dict[str, Any] = {
    "amount": amount,
    "percent": percent,
    "score": score,
    "auc": auc,
    "count": count,
}
