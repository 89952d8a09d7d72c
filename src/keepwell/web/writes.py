"""What the API and the pages share around a write (issue 13 §2): its own transaction, the
write context, and the answer to a refused write. The rules are in services/actions.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from keepwell.config import get_settings
from keepwell.services.actions import NotAllowed, NotFound, WriteContext, WriteError
from keepwell.store.db import transaction
from keepwell.store.models import User

T = TypeVar("T")
MAX_KEY_LENGTH = 200


def write_context(user: User, now: datetime, key: str | None) -> WriteContext:
    settings = get_settings()
    key = (key or "").strip() or None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise HTTPException(422, _field_error("header", "idempotency-key", "too long"))
    # targets None: those in force, read in the write's transaction (an admin may change them)
    return WriteContext(
        user=user, now=now, targets=None, timezone=settings.timezone, key=key,
        environment=settings,
    )  # fmt: skip


def _field_error(where: str, field: str, message: str) -> list[dict[str, object]]:
    return [{"type": "value_error", "loc": [where, field], "msg": message}]


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from exc
    except WriteError as exc:
        raise HTTPException(422, _field_error("body", exc.field, exc.message)) from exc


def run_write(request: Request, write: Callable[[Session], T]) -> T:
    """Make the write in a transaction of its own that takes the write lock at once (SQLite:
    a read-then-write transaction would otherwise fail under concurrency); `write` returns
    the answer, read before the transaction ends."""
    with refusals(), transaction(request.app.state.engine, writes=True) as session:
        return write(session)
