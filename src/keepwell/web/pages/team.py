"""`/team`, `/team/{csm}` and a figure's evidence (issue 14 §1): the month's scorecards of
the CSMs, each figure down to the records it was computed from, a CSM's twelve months and
their reviews. Figures come from `services.scorecard` as `keepwell scorecard` computes them;
who sees what is `domain.access`'s (READ_SCORECARD, READ_REVIEWS, the review writes)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from threading import Lock
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.domain import scorecard as sc
from keepwell.domain.access import Action, can, may_ever
from keepwell.domain.months import MonthError, last_closed_month, parse_month
from keepwell.domain.targets import METRICS, SELF_AWARENESS
from keepwell.services.actions import NotFound
from keepwell.services.reviews import (
    MANAGER,
    SELF,
    as_seen_by,
    csm_of,
    may_read_reviews,
    writable_kinds,
    write_review,
)
from keepwell.services.team import (
    EVIDENCE_OF,
    NOTHING,
    CsmView,
    EvidenceView,
    csm_history,
    csm_view,
    evidence_view,
    team_members,
    team_view,
    weeks_of,
)
from keepwell.store.models import User
from keepwell.web.api.scorecards import scorecard_options
from keepwell.web.auth import PagePrincipal, Principal, SignedInForm
from keepwell.web.charts import months_svg
from keepwell.web.deps import NowDep, SessionDep
from keepwell.web.page_cache import SLOW_SECONDS, cached
from keepwell.web.pages.accounts import CHART_POLICY
from keepwell.web.pages.render import drawn_once, fragment, page, templates
from keepwell.web.writes import run_write, write_context

router = APIRouter(include_in_schema=False)

LABELS = {
    "retention": "Client retention",
    "response_time": "Response time",
    "resolution_time": "Resolution time",
    "independence": "Resolution success",
    "proactivity": "Proactivity",
    "testimonials": "Feedback & testimonials",
    "crm_hygiene": "CRM hygiene",
    "self_awareness": "Self-awareness",
}
RATED = METRICS[:-1]
RATINGS = ("green", "yellow", "red")


def figure(key: str, value: float | None) -> str:
    """A metric's value as a screen shows it (PRODUCT.md 4: ratios as percentages, response
    time in hours, resolution time in business days; screens round, data does not)."""
    if value is None:
        return "n/a"
    if key == "response_time":
        return f"{value:.2f} h"
    if key == "resolution_time":
        return f"{value:.2f} bd"
    return f"{value * 100:.1f} %"


def total(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


templates.env.globals["figure_text"] = figure
templates.env.filters["total"] = total
templates.env.globals["metric_label"] = LABELS.get


def _refused(
    request: Request, principal: Principal, message: str, status: int = 403, back: str = "/"
) -> HTMLResponse:
    return page(request, "refused.html", principal, status_code=status, message=message,
                back=back)  # fmt: skip


def _moment(as_of: str, now: datetime) -> datetime:
    """The evaluation moment: `as_of` (ISO 8601 with an offset) or now."""
    if not as_of:
        return now
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"as_of: not an ISO 8601 instant: {as_of!r}") from None
    if moment.tzinfo is None:
        raise ValueError("as_of: give an offset or Z: which zone was meant is not guessed")
    return moment.astimezone(UTC)


def evidence_href(csm: str, month: str, metric: str, as_of: datetime) -> str:
    """Where a figure leads: its records, computed at the same moment as the figure."""
    query = urlencode({"as_of": as_of.isoformat()})
    return f"/team/{quote(csm, safe='')}/{month}/{metric}?{query}"


def csm_href(csm: str, month: str, as_of: str = "") -> str:
    params = {"month": month, **({"as_of": as_of} if as_of else {})}
    return f"/team/{quote(csm, safe='')}?{urlencode(params)}"


templates.env.globals["evidence_href"] = evidence_href
templates.env.globals["csm_href"] = csm_href


def _month_and_moment(
    month: str, as_of: str, now: datetime
) -> tuple[str, datetime, dict[str, str]]:
    """The month asked for (default: the last closed one) and the moment, with the errors
    of either, by field."""
    errors: dict[str, str] = {}
    try:
        moment = _moment(as_of, now)
    except ValueError as exc:
        errors["as_of"] = str(exc).removeprefix("as_of: ")
        moment = now
    chosen = month.strip() or last_closed_month(moment, get_settings().timezone)
    try:
        parse_month(chosen)
    except MonthError as exc:
        errors["month"] = str(exc)
    return chosen, moment, errors


# -- /team


@router.get("/team", response_class=HTMLResponse)
async def team(
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    month: str = "",
    as_of: str = "",
) -> Response:
    user = principal.user
    if not can(user.role, Action.READ_SCORECARD):
        if may_ever(user.role, Action.READ_SCORECARD):  # a CSM: their own card is their page
            own = csm_href(user.id, month) if month else f"/team/{quote(user.id, safe='')}"
            return RedirectResponse(own, status_code=303)
        return _refused(request, principal, f"a {user.role} may not read the team's scorecards")
    chosen, moment, errors = _month_and_moment(month, as_of, now)

    def compute(session: Session) -> tuple[Any, list[User], str | None]:
        members = team_members(session)
        if errors:
            return None, members, None
        try:
            return team_view(session, chosen, moment, **scorecard_options(session)), members, None
        except sc.ScorecardError as exc:
            return None, members, str(exc)

    key = ("team", chosen, as_of, _targets_key())
    view, members, problem = await cached(request, key, now, compute, seconds=SLOW_SECONDS)
    if problem:
        errors["month"] = problem
    reviews_open = frozenset(m.id for m in members if may_read_reviews(user, m))
    table = None
    if view is not None and view.rows:
        table = drawn_once(view, (reviews_open, as_of), lambda: fragment(
            "parts/team_table.html", view=view, as_of=as_of, metrics=METRICS,
            reviews_open=reviews_open, nothing=NOTHING,
        ))  # fmt: skip
    return page(
        request, "team.html", principal, status_code=422 if errors else 200, view=view,
        month=chosen, as_of=as_of, errors=errors, table=table,
    )  # fmt: skip


def _targets_key() -> str:
    """What the page cache tells apart besides the question: the targets file in force."""
    return get_settings().targets_file or ""


async def _member_of(request: Request, csm: str, now: datetime) -> User | None:
    return await cached(
        request,
        ("csm", csm),
        now,
        lambda session: _member(session, csm),
        seconds=SLOW_SECONDS,
    )


# -- /team/{csm}


ChartPoints = list[tuple[str, float | None]]


class _Recent:
    """The chart points of the CSM pages drawn lately, by (CSM, month, moment): the page's
    chart (its own request, like the account charts) shows the page's own figures at the
    page's moment without scoring twelve months again."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str, str], ChartPoints] = OrderedDict()
        self.lock = Lock()

    def get(self, key: tuple[str, str, str]) -> ChartPoints | None:
        with self.lock:
            return self.items.get(key)

    def put(self, key: tuple[str, str, str], points: ChartPoints) -> None:
        with self.lock:
            self.items[key] = points
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_CHARTS = _Recent()


def _chart_points(cards: list[sc.Scorecard]) -> ChartPoints:
    """Each month's total, labelled with the month and its band in words."""
    return [(f"{c.month} {c.band or 'n/a'}", c.total) for c in cards]


def _member(session: Any, csm: str) -> User | None:
    try:
        return csm_of(session, csm)
    except NotFound:
        return None


def _render_csm(
    request: Request,
    principal: Principal,
    member: User,
    chosen: str,
    as_of: str,
    moment: datetime,
    problems: dict[str, str],
    view: CsmView | None,
    *,
    errors: dict[str, str] | None = None,
    submitted: dict[str, Any] | None = None,
) -> HTMLResponse:
    user = principal.user
    if view is not None:
        _CHARTS.put((member.id, chosen, moment.isoformat()), _chart_points(view.cards))
    seen = as_seen_by(view.reviews, user) if view else None
    kinds = writable_kinds(user, member)
    drafts = {}
    for kind in kinds:
        mine = (seen.self_review if kind == SELF else seen.manager_review) if seen else None
        drafts[kind] = {"ratings": dict(mine.ratings) if mine else {},
                        "comment": (mine.comment or "") if mine else ""}  # fmt: skip
    form_errors = {}
    if submitted is not None:
        drafts[submitted["kind"]] = submitted
        form_errors[submitted["kind"]] = errors or {}
    return page(
        request, "team_csm.html", principal, trend=_trend(view),
        status_code=422 if problems or errors else 200, form_errors=form_errors,
        member=member, view=view, seen=seen, month=chosen, as_of=as_of,
        moment=moment, errors=problems, kinds=kinds, drafts=drafts, rated=RATED,
        ratings=RATINGS, metrics=METRICS, nothing=NOTHING, SELF=SELF, MANAGER=MANAGER,
        chart_query=urlencode({"month": chosen, "as_of": moment.isoformat()}),
    )  # fmt: skip


def _trend(view: CsmView | None) -> Markup | None:
    """The twelve months' table, drawn once per kept view: its hundred links to evidence
    took most of the page's drawing time."""
    if view is None or not view.cards:
        return None
    return drawn_once(
        view, "trend", lambda: fragment("parts/team_trend.html", view=view, metrics=METRICS)
    )


@router.get("/team/{csm}", response_class=HTMLResponse)
async def csm_page(
    csm: str,
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    month: str = "",
    as_of: str = "",
) -> HTMLResponse:
    member = await _member_of(request, csm, now)
    if member is None:
        return _refused(request, principal, f"no CSM {csm!r}", 404, back="/team")
    if not may_read_reviews(principal.user, member):
        role = principal.user.role
        return _refused(request, principal, f"a {role} may not open the page of {csm}")
    chosen, moment, problems = _month_and_moment(month, as_of, now)
    view = None
    if not problems:
        view = await cached(
            request, ("team-csm", member.id, chosen, as_of, _targets_key()), now,
            lambda session: csm_view(session, member, chosen, moment, **scorecard_options(session)),
            seconds=SLOW_SECONDS,
        )  # fmt: skip
    return _render_csm(request, principal, member, chosen, as_of, moment, problems, view)


@router.get("/team/{csm}/charts/totals.svg")
async def totals_chart(
    csm: str,
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    month: str = "",
    as_of: str = "",
) -> Response:
    member = await _member_of(request, csm, now)
    if member is None:
        raise HTTPException(404, f"no CSM {csm!r}")
    if not may_read_reviews(principal.user, member):
        raise HTTPException(403, f"a {principal.user.role} may not read the scorecards of {csm}")
    chosen, moment, errors = _month_and_moment(month, as_of, now)
    if errors:
        raise HTTPException(422, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    key = (member.id, chosen, moment.isoformat())
    points = _CHARTS.get(key)
    if points is None:
        points = await cached(
            request, ("team-chart", *key, _targets_key()), now,
            lambda session: _chart_points(
                csm_history(session, member, chosen, moment, **scorecard_options(session))
            ),
            seconds=SLOW_SECONDS,
        )  # fmt: skip
        _CHARTS.put(key, points)
    svg = months_svg(f"{member.name}: scorecard total by month", points, "total (of 100)")
    headers = {"content-security-policy": CHART_POLICY, "cache-control": "no-store"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.post("/team/{csm}/{month}/reviews")
def review(
    csm: str, month: str, request: Request, form: SignedInForm, session: SessionDep, now: NowDep
) -> Response:
    principal, fields = form
    kind = fields.get("kind") or None
    ratings = {m: fields[f"rating_{m}"] for m in RATED if fields.get(f"rating_{m}")}
    comment = fields.get("comment")
    ctx = write_context(principal.user, now, None)
    try:
        run_write(request, lambda s: write_review(s, ctx, csm, month, ratings, comment, kind))
    except HTTPException as exc:
        if exc.status_code != 422:
            return _refused(request, principal, str(exc.detail), exc.status_code, back="/team")
        member = _member(session, csm)
        assert member is not None  # a missing CSM is a 404
        field = exc.detail[0]["loc"][-1] if isinstance(exc.detail, list) else "review"
        message = exc.detail[0]["msg"] if isinstance(exc.detail, list) else str(exc.detail)
        submitted = {"kind": kind or SELF, "ratings": ratings, "comment": comment or ""}
        chosen, moment, problems = _month_and_moment(month, "", now)
        view = (
            None
            if problems
            else csm_view(session, member, chosen, moment, **scorecard_options(session))
        )
        return _render_csm(request, principal, member, chosen, "", moment, problems, view,
                           errors={field: message}, submitted=submitted)  # fmt: skip
    return RedirectResponse(csm_href(csm, month) + "#reviews", status_code=303)


# -- a figure's evidence


@router.get("/team/{csm}/{month}/{metric}", response_class=HTMLResponse)
async def evidence(
    csm: str,
    month: str,
    metric: str,
    request: Request,
    principal: PagePrincipal,
    now: NowDep,
    as_of: str = "",
) -> HTMLResponse:
    user = principal.user
    member = await _member_of(request, csm, now)
    if member is None:
        return _refused(request, principal, f"no CSM {csm!r}", 404, back="/team")
    if not can(user.role, Action.READ_SCORECARD, owns=user.id == member.id):
        return _refused(request, principal, f"a {user.role} may not read the scorecard of {csm}")
    if metric not in EVIDENCE_OF:
        return _refused(request, principal, f"no metric {metric!r}", 404, back="/team")
    if metric == SELF_AWARENESS and not may_read_reviews(user, member):
        return _refused(request, principal, f"a {user.role} may not read the reviews of {csm}")
    chosen, moment, errors = _month_and_moment(month, as_of, now)
    if errors:
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return _refused(request, principal, message, 422, back="/team")

    def compute(session: Session) -> EvidenceView | str:
        try:
            return evidence_view(
                session, member, chosen, metric, moment, **scorecard_options(session)
            )
        except sc.ScorecardError as exc:
            return f"month: {exc}"

    key = ("team-evidence", member.id, chosen, metric, as_of, _targets_key())
    view = await cached(request, key, now, compute, seconds=SLOW_SECONDS)
    if isinstance(view, str):
        return _refused(request, principal, view, 422, back="/team")
    return page(
        request, "team_evidence.html", principal, view=view, weeks=weeks_of,
        back=csm_href(member.id, chosen, as_of) if may_read_reviews(user, member) else None,
    )  # fmt: skip
