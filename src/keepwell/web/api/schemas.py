"""Response models: the JSON API's contract, as the OpenAPI document shows it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    email: str | None
    role: str
    timezone: str
    schedule_id: str | None
    manager_id: str | None


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    country: str | None
    timezone: str | None
    owner_id: str | None  # the owner now (after reassignments)
    started: date
    mrr: Decimal | None
    currency: str
    segment: str | None
    tags: list[str] | None
    stage: str | None
    schedule_id: str | None
    renewal_date: date | None


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    thread_id: str
    account_id: str
    opened_at: datetime
    first_response_at: datetime | None
    first_response_id: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    escalated_at: datetime | None
    escalations: int
    novel: bool


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    thread_id: str
    at: datetime
    author_id: str | None
    direction: str
    channel: str
    automated: bool
    text: str | None


class Health(BaseModel):
    status: str
    database: str
