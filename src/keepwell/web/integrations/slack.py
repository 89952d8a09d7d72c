"""`POST /integrations/slack/events`: Slack's Events API (issue 15 §2). No user session:
Slack signs each request with the app's signing secret."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from keepwell.config import get_settings
from keepwell.integrations.slack.parse import NotSlack
from keepwell.services import deliveries, slack
from keepwell.web.deps import get_now
from keepwell.web.intake import Intake
from keepwell.web.jobs import get_jobs

router = APIRouter(prefix="/integrations/slack", tags=["integrations"])


EVENTS = "/integrations/slack/events"


@router.post("/events", responses={401: {"description": "not signed by Slack"}})
async def slack_events(request: Request) -> JSONResponse:
    # Answered by `answer_event` ahead of the routing (`DirectEndpoints`); routed here only
    # when the app is mounted without it.
    status, answer = await answer_event(request.app, await request.body(), request.headers)
    return JSONResponse(answer, status)


async def answer_event(
    app: FastAPI, body: bytes, headers: Mapping[str, str]
) -> tuple[int, dict[str, str | bool]]:
    """Slack's request, verified and stored (`slack.check_event`): the status and answer."""
    secret = get_settings().slack_signing_secret
    if not secret:
        return 503, {"detail": "Slack is not configured: set KEEPWELL_SLACK_SIGNING_SECRET"}
    try:
        checked = slack.check_event(body, headers, secret, get_now())
    except slack.BadSignature as exc:
        return 401, {"detail": str(exc)}
    except NotSlack as exc:
        return 400, {"detail": f"not a Slack event: {exc}"}
    if isinstance(checked, slack.Answer):
        return 200, checked.body
    await _intake(app).submit(checked)
    return 200, slack.KEPT


def _intake(app: FastAPI) -> Intake[deliveries.Incoming, deliveries.Received]:
    intake = getattr(app.state, "delivery_intake", None)
    if intake is None:

        def store(incoming: Sequence[deliveries.Incoming]) -> list[deliveries.Received]:
            received = deliveries.receive_many(app.state.engine, incoming, get_now())
            if any(r.new for r in received):
                get_jobs(app).deliveries_stored()
            return received

        intake = app.state.delivery_intake = Intake(store)
    return intake
