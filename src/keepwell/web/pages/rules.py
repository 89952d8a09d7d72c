"""The rule settings pages (issue 14 §4), for admins only: `/settings/sla` (SLA targets),
`/settings/targets` (the scorecard targets TOML as a form), `/settings/health` (the health
weights, and the back-test's fitted weights to apply).

Each form posts to services/company_settings.py, which checks, saves, records and queues the
recompute the change needs in one transaction; the page then sends the job to the queue and
shows its progress (`/settings/recompute/{job}`, a fragment htmx polls; without script, a
reload shows where it stands). Bad input is answered 422 with the form as it was sent and a
message at the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain.access import Action, can
from keepwell.domain.health import MEASURES
from keepwell.domain.targets import COLORS, SCALES, TARGET_KEYS, TargetsError
from keepwell.services import company_settings as cs
from keepwell.services.health import FutureDay, backtest_report, today_in
from keepwell.services.jobs import DONE, FAILED, JobRow, get_job
from keepwell.store.db import transaction
from keepwell.web.auth import PagePrincipal, Principal, SignedInForm
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.jobs import get_jobs
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

SECTIONS = (
    ("All settings", "/settings"),
    ("SLA targets", "/settings/sla"),
    ("Scorecard targets", "/settings/targets"),
    ("Health weights", "/settings/health"),
    ("Schedules", "/settings/schedules"),
)
UNITS = {"minutes": 60, "hours": 3600}
LOWER = {"": "open: from the scale's bottom", "min": "≥ (included)", "above": "> (excluded)"}
UPPER = {"": "open: to the scale's top", "max": "≤ (included)", "below": "< (excluded)"}
METRIC_NAMES = {
    "retention": "Client retention", "response_time": "Response time",
    "resolution_time": "Resolution time", "independence": "Resolution success",
    "proactivity": "Proactivity", "testimonials": "Feedback & testimonials",
    "crm_hygiene": "CRM hygiene", "self_awareness": "Self-awareness", "total": "Total",
}  # fmt: skip
UNIT_OF = {"ratio": "a fraction from 0 to 1: 0.8 is 80 %", "hours": "hours, 0 up",
           "business days": "business days, 0 up", "points": "points, 0 to 100"}  # fmt: skip


def _is_admin(principal: Principal) -> bool:
    return can(principal.user.role, Action.ADMINISTER)


def _refused(request: Request, principal: Principal) -> HTMLResponse:
    message = "Only an admin may see or change the settings."
    return page(request, "refused.html", principal, status_code=403, message=message, back="/")


def _rules(session: Session) -> cs.Rules:
    return cs.effective(session, get_settings())


def _render(
    request: Request,
    principal: Principal,
    session: Session,
    template: str,
    *,
    keys: tuple[str, ...],
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    rules = _rules(session)
    job = _job(session, request.query_params.get("job"))
    return page(
        request, template, principal, status_code=status_code, sections=SECTIONS,
        rules=rules, keys=keys, variables=cs.VARIABLES, history=cs.recent_changes(session, keys),
        job=job, saved=request.query_params.get("saved"), **context,
    )  # fmt: skip


def _job(session: Session, job_id: str | None) -> JobRow | None:
    if not job_id or len(job_id) > 64:
        return None
    found = get_job(session, job_id)
    return found if found is not None and found.name == "recompute" else None


@dataclass
class Refusal:
    """The messages of a refused form, by field."""

    errors: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def _save(
    request: Request, principal: Principal, now: Any, values: dict[str, Any], back: str
) -> Response:
    """Save through the service, send its recompute job once committed, and go back to the
    page showing the job's progress."""
    with transaction(request.app.state.engine, writes=True) as session:
        outcome = cs.change_settings(session, get_settings(), values, by=principal.user.id, at=now)
    return _done(request, outcome, back)


def _done(request: Request, outcome: cs.Outcome, back: str) -> Response:
    query = {"saved": "1" if outcome.changed else "0"}
    if outcome.job_id is not None:
        try:
            get_jobs(request.app).send_recompute(outcome.job_id)
        except Exception:  # the job is recorded QUEUED: the queue's minute check sends it
            log.exception("recompute %s: not enqueued now", outcome.job_id)
        query["job"] = outcome.job_id
    return RedirectResponse(f"{back}?{urlencode(query)}", status_code=303)


def _number(refusal: Refusal, name: str, text: str | None) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        refusal.add(name, "Enter a number.")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        refusal.add(name, f"{text!r} is not a number.")
        return None
    if not value.is_finite():
        refusal.add(name, f"{text!r} is not a finite number.")
        return None
    return value


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# -- /settings/sla


@router.get("/settings/sla", response_class=HTMLResponse)
def sla(request: Request, principal: PagePrincipal, session: SessionDep) -> HTMLResponse:
    if not _is_admin(principal):
        return _refused(request, principal)
    return _sla_page(request, principal, session, _sla_form(_rules(session)))


def _sla_form(rules: cs.Rules) -> dict[str, str]:
    seconds = rules.sla.first_response_seconds
    unit = "hours" if seconds % 3600 == 0 else "minutes"
    return {
        "first_response": f"{Decimal(int(seconds)) / UNITS[unit]:f}".rstrip("0").rstrip("."),
        "first_response_unit": unit,
        "resolution_days": f"{rules.sla.resolution_business_days:g}",
    }


def _sla_page(
    request: Request, principal: Principal, session: Session, form: dict[str, str],
    errors: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    return _render(
        request, principal, session, "settings_sla.html",
        keys=(cs.SLA_FIRST_RESPONSE, cs.SLA_RESOLUTION), form=form, errors=errors or {},
        units=UNITS, status_code=422 if errors else 200,
    )  # fmt: skip


@router.post("/settings/sla", response_class=HTMLResponse)
def save_sla(request: Request, form: SignedInForm, session: SessionDep, now: NowDep) -> Response:
    principal, fields = form
    if not _is_admin(principal):
        return _refused(request, principal)
    refusal = Refusal()
    values: dict[str, Any] = {}
    amount = _number(refusal, "first_response", fields.get("first_response"))
    unit = fields.get("first_response_unit", "")
    if unit not in UNITS:
        refusal.add("first_response", "Choose minutes or hours.")
    elif amount is not None:
        seconds = amount * UNITS[unit]
        if seconds != seconds.to_integral_value():
            refusal.add("first_response", "Give a whole number of seconds (say, 1.5 minutes).")
        else:
            values[cs.SLA_FIRST_RESPONSE] = int(seconds)
    days = _number(refusal, "resolution_days", fields.get("resolution_days"))
    if days is not None:
        values[cs.SLA_RESOLUTION] = float(days)
    if not refusal.errors:
        try:
            return _save(request, principal, now, values, "/settings/sla")
        except cs.SettingRefused as exc:
            name = "first_response" if exc.key == cs.SLA_FIRST_RESPONSE else "resolution_days"
            refusal.add(name, _sentence(exc.message))
    shown = {name: fields.get(name, "") for name in _sla_form(_rules(session))}
    return _sla_page(request, principal, session, shown, refusal.errors)


# -- /settings/targets


@router.get("/settings/targets", response_class=HTMLResponse)
def targets(request: Request, principal: PagePrincipal, session: SessionDep) -> HTMLResponse:
    if not _is_admin(principal):
        return _refused(request, principal)
    try:
        bands = _targets_form(_rules(session).value(cs.TARGETS))
        problem = None
    except TargetsError as exc:  # the environment's targets file cannot be read
        bands, problem = _targets_form(cs.Rules(get_settings().model_copy(
            update={"targets_file": None})).value(cs.TARGETS)), str(exc)  # fmt: skip
    return _targets_page(request, principal, session, bands, problem=problem)


def _targets_form(mapping: dict[str, Any]) -> dict[str, str]:
    """The form's fields from the TOML-shaped mapping: `retention.green.low_kind` ("min",
    "above" or "" for open), `retention.green.low`, and the same for `high`."""
    form: dict[str, str] = {}
    for key in TARGET_KEYS:
        for color in COLORS:
            spec = mapping[key][color]
            for end, kinds in (("low", ("min", "above")), ("high", ("max", "below"))):
                kind = next((k for k in kinds if k in spec), "")
                form[f"{key}.{color}.{end}_kind"] = kind
                form[f"{key}.{color}.{end}"] = f"{spec[kind]:g}" if kind else ""
    return form


def _targets_page(
    request: Request, principal: Principal, session: Session, form: dict[str, str],
    errors: dict[str, str] | None = None, problem: str | None = None,
) -> HTMLResponse:  # fmt: skip
    return _render(
        request, principal, session, "settings_targets.html", keys=(cs.TARGETS,),
        form=form, errors=errors or {}, metrics=TARGET_KEYS, colors=COLORS,
        metric_names=METRIC_NAMES, scale_of={k: UNIT_OF[s.name] for k, s in SCALES.items()},
        lower=LOWER, upper=UPPER, problem=problem, status_code=422 if errors else 200,
    )  # fmt: skip


@router.post("/settings/targets", response_class=HTMLResponse)
def save_targets(
    request: Request, form: SignedInForm, session: SessionDep, now: NowDep
) -> Response:
    principal, fields = form
    if not _is_admin(principal):
        return _refused(request, principal)
    refusal = Refusal()
    mapping = _targets_mapping(fields, refusal)
    if not refusal.errors:
        try:
            return _save(request, principal, now, {cs.TARGETS: mapping}, "/settings/targets")
        except cs.SettingRefused as exc:
            where = exc.field.removeprefix(f"{cs.TARGETS}.")
            refusal.add(where if where != exc.field else "targets", _sentence(exc.message))
    shown = {
        name: fields.get(name, "") for name in _targets_form(_rules(session).value(cs.TARGETS))
    }
    return _targets_page(request, principal, session, shown, refusal.errors)


def _targets_mapping(fields: dict[str, str], refusal: Refusal) -> dict[str, Any]:
    """The TOML-shaped mapping of the posted form; a band's end that is not a number, or a
    value without its kind (or the other way round), is refused at its band."""
    mapping: dict[str, Any] = {}
    for key in TARGET_KEYS:
        table: dict[str, dict[str, float]] = {}
        for color in COLORS:
            band = f"{key}.{color}"
            spec: dict[str, float] = {}
            for end, kinds in (("low", LOWER), ("high", UPPER)):
                kind = fields.get(f"{band}.{end}_kind", "")
                text = fields.get(f"{band}.{end}", "").strip()
                where = "lower" if end == "low" else "upper"
                if kind not in kinds:
                    refusal.add(band, f"Choose how the {where} end is bounded.")
                elif kind and not text:
                    refusal.add(band, f"Give the {where} end's value, or make it open.")
                elif text and not kind:
                    refusal.add(band, f"Choose whether the {where} end {text} is included.")
                elif kind:
                    value = _number(Refusal(), band, text)
                    if value is None:
                        refusal.add(band, f"The {where} end {text!r} is not a number.")
                    else:
                        spec[kind] = float(value)
            table[color] = spec
        mapping[key] = table
    return mapping


# -- /settings/health


@router.get("/settings/health", response_class=HTMLResponse)
def health(request: Request, principal: PagePrincipal, session: SessionDep) -> HTMLResponse:
    if not _is_admin(principal):
        return _refused(request, principal)
    weights = _rules(session).weights
    return _health_page(request, principal, session, {m: f"{weights[m]:g}" for m in MEASURES})


def _health_page(
    request: Request, principal: Principal, session: Session, form: dict[str, str],
    errors: dict[str, str] | None = None, status_code: int | None = None,
) -> HTMLResponse:  # fmt: skip
    return _render(
        request, principal, session, "settings_health.html", keys=(cs.HEALTH_WEIGHTS,),
        form=form, errors=errors or {}, measures=MEASURES,
        status_code=status_code or (422 if errors else 200),
    )  # fmt: skip


@router.post("/settings/health", response_class=HTMLResponse)
def save_health(request: Request, form: SignedInForm, session: SessionDep, now: NowDep) -> Response:
    principal, fields = form
    if not _is_admin(principal):
        return _refused(request, principal)
    refusal = Refusal()
    weights: dict[str, float] = {}
    for measure in MEASURES:
        value = _number(refusal, measure, fields.get(measure))
        if value is not None:
            weights[measure] = float(value)
    if not refusal.errors:
        try:
            return _save(request, principal, now, {cs.HEALTH_WEIGHTS: weights}, "/settings/health")
        except cs.SettingRefused as exc:
            where = exc.field.removeprefix(f"{cs.HEALTH_WEIGHTS}.")
            refusal.add(where if where in MEASURES else "weights", _sentence(exc.message))
    shown = {m: fields.get(m, "") for m in MEASURES}
    return _health_page(request, principal, session, shown, refusal.errors)


@router.get("/settings/health/backtest", response_class=HTMLResponse)
def backtest(
    request: Request, principal: PagePrincipal, session: SessionDep, now: NowDep
) -> HTMLResponse:
    """The back-test of the weights in force and the fitted weights (a fragment the health
    page loads: it reads the whole book's history)."""
    if not _is_admin(principal):
        return _refused(request, principal)
    settings = get_settings()
    rules = _rules(session)
    try:
        report = backtest_report(
            session, today_in(now, settings.timezone), timezone=settings.timezone,
            weights=rules.weights, now=now,
        )  # fmt: skip
    except FutureDay as exc:  # not reachable with today; kept for a clear answer
        raise HTTPException(422, str(exc)) from exc
    fragment = request.headers.get("hx-request") is not None
    return page(
        request, "parts/backtest.html" if fragment else "settings_backtest.html", principal,
        report=report, measures=MEASURES, sections=SECTIONS,
    )  # fmt: skip


@router.post("/settings/health/apply-fitted", response_class=HTMLResponse)
def apply_fitted(
    request: Request, form: SignedInForm, session: SessionDep, now: NowDep
) -> Response:
    principal, _fields = form
    if not _is_admin(principal):
        return _refused(request, principal)
    settings = get_settings()
    try:
        with transaction(request.app.state.engine, writes=True) as own:
            outcome = cs.apply_fitted_weights(
                own, settings, today=today_in(now, settings.timezone), by=principal.user.id,
                at=now,
            )  # fmt: skip
    except cs.SettingRefused as exc:
        weights = _rules(session).weights
        form_values = {m: f"{weights[m]:g}" for m in MEASURES}
        return _health_page(request, principal, session, form_values,
                            {"fitted": _sentence(exc.message)}, status_code=409)  # fmt: skip
    return _done(request, outcome, "/settings/health")


# -- a recompute's progress


@router.get("/settings/recompute/{job_id}", response_class=HTMLResponse)
def recompute_progress(
    job_id: str, request: Request, principal: PagePrincipal, session: SessionDep
) -> HTMLResponse:
    """A recompute job's progress, as the fragment the settings pages poll until it ends."""
    if not _is_admin(principal):
        return _refused(request, principal)
    job = _job(session, job_id)
    if job is None:
        raise HTTPException(404, f"no recompute job {job_id!r}")
    return page(request, "parts/recompute.html", principal, job=job, finished=(DONE, FAILED))
