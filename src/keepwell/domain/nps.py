"""NPS and CSAT over survey responses (PRODUCT.md 6, and 2 for the survey response).

NPS = % promoters (9–10) − % detractors (0–6) over the NPS responses of the period, from −100
to 100; passives (7–8) count in the denominator only. CSAT (1–5) is reported separately: the
share of satisfied responses (4–5) as a fraction from 0 to 1, as every ratio in data is
(PRODUCT.md 4), and the mean score. Every response counts, several from one contact
included. Months are calendar months in the company zone (PRODUCT.md 6); a response belongs
to the month whose [start, next start) holds its instant. Nothing is rounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepwell.domain.revenue import month_start, shift_month

NPS = "nps"
CSAT = "csat"
PROMOTER = "promoter"
PASSIVE = "passive"
DETRACTOR = "detractor"
SATISFIED = "satisfied"
NEUTRAL = "neutral"
DISSATISFIED = "dissatisfied"
SCALES = {NPS: range(0, 11), CSAT: range(1, 6)}


class SurveyError(ValueError):
    """A survey response that is not one."""


@dataclass(frozen=True, slots=True)
class SurveyResponse:
    """One answer: NPS 0–10 or CSAT 1–5, at an instant, for an account."""

    account_id: str
    at: datetime
    kind: str  # "nps" | "csat"
    score: int

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise SurveyError(f"at: naive datetime {self.at!r}")
        if self.kind not in SCALES:
            raise SurveyError(f"kind: {self.kind!r} is neither 'nps' nor 'csat'")
        if self.score not in SCALES[self.kind]:
            raise SurveyError(f"score: {self.score} is off the {self.kind} scale")


def nps_category(score: int) -> str:
    """Promoter 9–10, passive 7–8, detractor 0–6 (PRODUCT.md 5 and 6)."""
    if score not in SCALES[NPS]:
        raise SurveyError(f"score: {score} is off the nps scale")
    return PROMOTER if score >= 9 else PASSIVE if score >= 7 else DETRACTOR


def csat_category(score: int) -> str:
    """Satisfied 4–5, neutral 3, dissatisfied 1–2: the CSAT counterpart of nps_category."""
    if score not in SCALES[CSAT]:
        raise SurveyError(f"score: {score} is off the csat scale")
    return SATISFIED if score >= 4 else NEUTRAL if score == 3 else DISSATISFIED


@dataclass(frozen=True, slots=True)
class NpsResult:
    month: str
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors, −100..100; None without responses."""
        if not self.responses:
            return None
        return (self.promoters - self.detractors) * 100 / self.responses

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "nps": self.nps,
            "responses": self.responses,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
        }


@dataclass(frozen=True, slots=True)
class CsatResult:
    month: str
    responses: int
    satisfied: int  # scores 4–5
    total_score: int

    @property
    def csat(self) -> float | None:
        """Share of responses scoring 4–5, a fraction; None without responses."""
        return self.satisfied / self.responses if self.responses else None

    @property
    def mean(self) -> float | None:
        return self.total_score / self.responses if self.responses else None

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "csat": self.csat,
            "mean": self.mean,
            "responses": self.responses,
            "satisfied": self.satisfied,
        }


def _in_window(
    responses: Iterable[SurveyResponse], kind: str, start: datetime, end: datetime
) -> list[SurveyResponse]:
    return [r for r in responses if r.kind == kind and start <= r.at < end]


def nps_between(
    responses: Iterable[SurveyResponse], start: datetime, end: datetime, label: str = ""
) -> NpsResult:
    """NPS over the NPS responses stamped in [start, end) (PRODUCT.md 6)."""
    categories = [nps_category(r.score) for r in _in_window(responses, NPS, start, end)]
    counts = (categories.count(c) for c in (PROMOTER, PASSIVE, DETRACTOR))
    return NpsResult(label, *counts)


def csat_between(
    responses: Iterable[SurveyResponse], start: datetime, end: datetime, label: str = ""
) -> CsatResult:
    """CSAT over the CSAT responses stamped in [start, end): share of 4–5 and mean."""
    scores = [r.score for r in _in_window(responses, CSAT, start, end)]
    return CsatResult(label, len(scores), sum(s >= 4 for s in scores), sum(scores))


def _month_window(month: str, tz: str) -> tuple[datetime, datetime]:
    return month_start(month, tz), month_start(shift_month(month, 1), tz)


def monthly_nps(responses: Iterable[SurveyResponse], month: str, tz: str = "UTC") -> NpsResult:
    """NPS of calendar month `month` in the company zone `tz` (PRODUCT.md 6)."""
    return nps_between(responses, *_month_window(month, tz), label=month)


def monthly_csat(responses: Iterable[SurveyResponse], month: str, tz: str = "UTC") -> CsatResult:
    """CSAT of calendar month `month` in the company zone `tz`."""
    return csat_between(responses, *_month_window(month, tz), label=month)


def _grouped(
    responses: Iterable[SurveyResponse], groups: Mapping[str, str | None]
) -> dict[str | None, list[SurveyResponse]]:
    grouped: dict[str | None, list[SurveyResponse]] = {key: [] for key in groups.values()}
    for response in responses:
        grouped.setdefault(groups.get(response.account_id), []).append(response)
    return grouped


def nps_by_group(
    responses: Iterable[SurveyResponse],
    month: str,
    groups: Mapping[str, str | None],
    tz: str = "UTC",
) -> dict[str | None, NpsResult]:
    """NPS of `month` per group; `groups` maps an account id to its group (team, CSM,
    segment). Every group it names appears, with nps None when it had no responses;
    responses of accounts it does not name fall under None."""
    window = _month_window(month, tz)
    return {
        key: nps_between(members, *window, label=month)
        for key, members in _grouped(responses, groups).items()
    }


def csat_by_group(
    responses: Iterable[SurveyResponse],
    month: str,
    groups: Mapping[str, str | None],
    tz: str = "UTC",
) -> dict[str | None, CsatResult]:
    """CSAT of `month` per group, grouped as `nps_by_group` does."""
    window = _month_window(month, tz)
    return {
        key: csat_between(members, *window, label=month)
        for key, members in _grouped(responses, groups).items()
    }
