"""`POST /integrations/slack/events`: Slack's Events API (issue 15 §2). No user session:
Slack signs each request with the app's signing secret."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, HTTPException, Request

from keepwell.config import get_settings
from keepwell.integrations.slack.parse import NotSlack
from keepwell.services import deliveries, slack
from keepwell.web.deps import get_now
from keepwell.web.intake import Intake
from keepwell.web.jobs import get_jobs

router = APIRouter(prefix="/integrations/slack", tags=["integrations"])


@router.post("/events", responses={401: {"description": "not signed by Slack"}})
async def slack_events(request: Request) -> dict[str, str | bool]:
    secret = get_settings().slack_signing_secret
    if not secret:
        raise HTTPException(503, "Slack is not configured: set KEEPWELL_SLACK_SIGNING_SECRET")
    body = await request.body()
    try:
        checked = slack.check_event(body, request.headers, secret, get_now())
    except slack.BadSignature as exc:
        raise HTTPException(401, str(exc)) from exc
    except NotSlack as exc:
        raise HTTPException(400, f"not a Slack event: {exc}") from exc
    if isinstance(checked, slack.Answer):
        return checked.body
    await _intake(request.app).submit(checked)
    return slack.KEPT


def _intake(app: FastAPI) -> Intake[deliveries.Incoming, deliveries.Received]:
    intake = getattr(app.state, "delivery_intake", None)
    if intake is None:

        def store(incoming: Sequence[deliveries.Incoming]) -> list[deliveries.Received]:
            received = deliveries.receive_many(app.state.engine, incoming, get_now())
            new = [r.id for r in received if r.id is not None]
            if new:
                get_jobs(app).apply_deliveries(new)
            return received

        intake = app.state.delivery_intake = Intake(store)
    return intake
