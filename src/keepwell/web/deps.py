"""Request-scoped dependencies: the database session and the current moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from keepwell.store.db import make_sessionmaker


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction ends with the request (committed when nothing failed)."""
    factory = request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session


def get_now() -> datetime:
    """The evaluation moment of a request: the one place the web layer reads the clock."""
    return datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]

__all__ = ["NowDep", "SessionDep", "get_now", "get_session", "make_sessionmaker"]
