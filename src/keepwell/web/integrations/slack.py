"""`POST /integrations/slack/events`: Slack's Events API (issue 15 §2). No user session:
Slack signs each request with the app's signing secret."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from keepwell.config import get_settings
from keepwell.integrations.slack.parse import NotSlack
from keepwell.services import slack
from keepwell.web.deps import get_now
from keepwell.web.jobs import get_jobs

router = APIRouter(prefix="/integrations/slack", tags=["integrations"])


@router.post("/events", responses={401: {"description": "not signed by Slack"}})
async def slack_events(request: Request) -> dict[str, str | bool]:
    secret = get_settings().slack_signing_secret
    if not secret:
        raise HTTPException(503, "Slack is not configured: set KEEPWELL_SLACK_SIGNING_SECRET")
    body = await request.body()
    try:  # one hop to a thread for both writes: the delivery, then its job
        return await run_in_threadpool(_receive, request, body, secret)
    except slack.BadSignature as exc:
        raise HTTPException(401, str(exc)) from exc
    except NotSlack as exc:
        raise HTTPException(400, f"not a Slack event: {exc}") from exc


def _receive(request: Request, body: bytes, secret: str) -> dict[str, str | bool]:
    engine = request.app.state.engine
    answer = slack.receive_event(engine, body, request.headers, secret, get_now())
    if answer.delivery_id is not None:
        get_jobs(request.app).apply_delivery(answer.delivery_id)
    return answer.body
