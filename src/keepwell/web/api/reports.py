"""JSON endpoints for the month's numbers: revenue and retention, NPS and CSAT; and the
exchange rates the revenue figures convert at."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator, BaseModel

from keepwell.config import get_settings
from keepwell.domain.months import FIRST_MONTH, LAST_MONTH, parse_month
from keepwell.domain.revenue import MissingRateError
from keepwell.services.rates import list_rates
from keepwell.services.revenue import Money, nps_report, revenue_report
from keepwell.web.deps import SessionDep

router = APIRouter(tags=["reports"])
# parse_month's MonthError is a ValueError: FastAPI answers 422 with loc ["query", "month"].
Month = Annotated[
    str,
    Query(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description=f"YYYY-MM, from {FIRST_MONTH} to {LAST_MONTH}",
    ),
    AfterValidator(parse_month),
]


class Movements(BaseModel):
    month: str
    first_month: str | None = None  # trailing windows only
    currency: str
    mrr_start: float
    new: float
    expansion: float
    contraction: float
    churn: float
    reactivation: float
    mrr_end: float
    nrr: float | None
    grr: float | None
    logo_churn: float | None
    accounts_start: int
    accounts_churned: int


class RevenueReport(Movements):
    trailing_12_months: Movements
    by: dict[str, dict[str, Movements]]  # csm | team | segment -> group -> movements


class Nps(BaseModel):
    month: str
    nps: float | None
    responses: int
    promoters: int
    passives: int
    detractors: int


class Csat(BaseModel):
    month: str
    csat: float | None
    mean: float | None
    responses: int
    satisfied: int


class NpsReport(Nps):
    csat: Csat
    by: dict[str, dict[str, Nps]]


@router.get("/api/reports/revenue", response_model=RevenueReport)
def revenue(month: Month, session: SessionDep) -> RevenueReport:
    """MRR movements, NRR, GRR and logo churn of a month in the company zone, its trailing
    12 months, and the same by CSM, team and segment (PRODUCT.md 6)."""
    settings = get_settings()
    money = Money(settings.timezone, settings.base_currency, settings.exchange_rates)
    try:
        return RevenueReport.model_validate(revenue_report(session, month, money))
    except MissingRateError as exc:
        detail = f"{exc}: the admin must set it (keepwell rates set {exc.currency} RATE)"
        raise HTTPException(422, detail) from exc


@router.get("/api/reports/nps", response_model=NpsReport)
def nps(month: Month, session: SessionDep) -> NpsReport:
    """NPS of a month (promoters − detractors, −100..100), CSAT, and NPS by CSM, team and
    segment."""
    return NpsReport.model_validate(nps_report(session, month, get_settings().timezone))


class Rate(BaseModel):
    currency: str
    rate: str  # a decimal, exactly as stored: "1.08"
    source: str  # "book" (set with `keepwell rates set`) | "environment" (it overrides)
    set_at: datetime | None


class Rates(BaseModel):
    base_currency: str
    rates: list[Rate]


@router.get("/api/rates", response_model=Rates)
def rates(session: SessionDep) -> Rates:
    """The exchange rates into the base currency that revenue totals convert at: the book's,
    each overridden by `KEEPWELL_EXCHANGE_RATES` (PRODUCT.md 6)."""
    settings = get_settings()
    found = list_rates(session, settings.exchange_rates)
    return Rates(
        base_currency=settings.base_currency,
        rates=[Rate(currency=r.currency, rate=r.text, source=r.source, set_at=r.set_at)
               for r in found],
    )  # fmt: skip
