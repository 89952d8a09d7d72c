"""JSON endpoints for the month's numbers: revenue and retention, NPS and CSAT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from keepwell.config import get_settings
from keepwell.domain.revenue import MissingRateError
from keepwell.services.revenue import Money, nps_report, revenue_report
from keepwell.web.deps import SessionDep

router = APIRouter(prefix="/api/reports", tags=["reports"])
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


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


@router.get("/revenue", response_model=RevenueReport)
def revenue(month: Month, session: SessionDep) -> RevenueReport:
    """MRR movements, NRR, GRR and logo churn of a month in the company zone, its trailing
    12 months, and the same by CSM, team and segment (PRODUCT.md 6)."""
    settings = get_settings()
    money = Money(settings.timezone, settings.base_currency, settings.exchange_rates)
    try:
        return RevenueReport.model_validate(revenue_report(session, month, money))
    except MissingRateError as exc:
        raise HTTPException(422, f"{exc}: the admin must set that exchange rate") from exc


@router.get("/nps", response_model=NpsReport)
def nps(month: Month, session: SessionDep) -> NpsReport:
    """NPS of a month (promoters − detractors, −100..100), CSAT, and NPS by CSM, team and
    segment."""
    return NpsReport.model_validate(nps_report(session, month, get_settings().timezone))
