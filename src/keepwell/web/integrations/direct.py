"""The vendors' endpoints answered ahead of the app's routing and middleware.

A webhook needs none of what a page or an API call goes through (sessions, dependencies, a
hundred routes to match, exception handlers): its handler takes the body and the headers and
returns a status and a JSON answer. Slack sends bursts, and on a 2-core machine the Python
per request is the limit (bench/webhooks.py). The FastAPI routes stay, calling the same
handlers, so that the API's documentation shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from keepwell.web.security import HEADERS

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Slack's events are a few KiB
Handler = Callable[[FastAPI, bytes, Mapping[str, str]], Awaitable[tuple[int, Any]]]


class DirectEndpoints:
    """ASGI middleware: POSTs to `routes` go straight to their handler."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, Handler]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.routes.get(scope["path"])
        if handler is None:
            await self.app(scope, receive, send)
            return
        status, answer = await self._answer(handler, scope, receive)
        body = orjson.dumps(answer)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *HEADERS,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, handler: Handler, scope: Scope, receive: Receive) -> tuple[int, Any]:
        body = await _read_body(receive)
        if body is None:
            return 413, {"detail": f"the body is over {MAX_BODY} bytes"}
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in scope["headers"]}  # fmt: skip
        try:
            return await handler(scope["app"], body, headers)
        except Exception:
            log.exception("%s failed", scope["path"])
            return 500, {"detail": "Internal Server Error"}


async def _read_body(receive: Receive) -> bytes | None:
    """The request's body; None past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
