"""Security headers on every response (issue 13 §4).

The pages load scripts and styles from /static only: no inline script, no CDN. The Swagger UI
page at /docs starts itself with one inline script, so it gets its own policy that allows
exactly that script by its hash (`with_inline_script_hashes`), and Swagger's inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
CSP = b"content-security-policy"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, and the page policy unless the
    route set its own. Plain ASGI, not BaseHTTPMiddleware: nothing is buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((n, v) for n, v in HEADERS if n not in present)
                if CSP not in present:
                    headers.append((CSP, PAGE_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_inline_script_hashes(response: HTMLResponse) -> HTMLResponse:
    """A policy for a page we do not write (Swagger UI) that allows its own inline scripts by
    their SHA-256, nothing else inline."""
    body = bytes(response.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in INLINE_SCRIPT.findall(body)
    )
    response.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response
