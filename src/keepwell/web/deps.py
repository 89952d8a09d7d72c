"""Request-scoped dependencies: the database session and the current moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from keepwell.store.db import make_sessionmaker


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction ends with the request (committed when nothing failed)."""
    factory = request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session


async def refuse_nul(request: Request) -> None:
    """Refuse a parameter holding a NUL character, on both databases alike: PostgreSQL
    cannot compare text holding one, and no id, name or search needs one."""
    found = [
        ("query", name, value)
        for name, value in request.query_params.multi_items()
        if "\x00" in value
    ]
    found += [
        ("path", name, value) for name, value in request.path_params.items() if "\x00" in value
    ]
    if found:
        raise RequestValidationError(
            [
                {"type": "string_nul", "loc": (where, name), "msg": "NUL character", "input": value}
                for where, name, value in found
            ]
        )


def get_now() -> datetime:
    """The evaluation moment of a request: the one place the web layer reads the clock."""
    return datetime.now(UTC)


async def request_now() -> datetime:
    # On the event loop: a `def` dependency costs a trip through the threadpool per request.
    return get_now()


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(request_now)]

__all__ = [
    "NowDep",
    "SessionDep",
    "get_now",
    "get_session",
    "make_sessionmaker",
    "refuse_nul",
    "request_now",
]
