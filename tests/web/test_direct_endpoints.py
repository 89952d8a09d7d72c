"""Webhook endpoints answered ahead of the app's routing (`DirectEndpoints`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from keepwell.web.integrations.direct import MAX_BODY, DirectEndpoints


async def echo(app: FastAPI, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
    if body == b"boom":
        raise RuntimeError("the handler failed")
    return 202, {"body": body.decode(), "signature": headers.get("x-signature")}


def _client() -> TestClient:
    app = FastAPI()

    @app.get("/hook")
    def page() -> dict[str, str]:
        return {"routed": "by FastAPI"}

    app.add_middleware(DirectEndpoints, routes={"/hook": echo})
    return TestClient(app, raise_server_exceptions=False)


def test_a_post_goes_straight_to_its_handler_with_the_headers_by_lowercase_name() -> None:
    response = _client().post("/hook", content=b"hello", headers={"X-Signature": "v0=abc"})
    assert response.status_code == 202
    assert response.json() == {"body": "hello", "signature": "v0=abc"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_other_methods_and_paths_go_through_the_app() -> None:
    client = _client()
    assert client.get("/hook").json() == {"routed": "by FastAPI"}
    assert client.post("/elsewhere").status_code == 404


def test_a_body_too_large_is_refused_and_a_failing_handler_answers_500() -> None:
    client = _client()
    too_large = client.post("/hook", content=b"x" * (MAX_BODY + 1))
    assert too_large.status_code == 413
    assert "bytes" in too_large.json()["detail"]
    failed = client.post("/hook", content=b"boom")
    assert failed.status_code == 500
    assert failed.json() == {"detail": "Internal Server Error"}
