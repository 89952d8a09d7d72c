"""The record types of the JSON Lines import (PRODUCT.md 9): fields, keys and references.

Each type names its table, how every field parses, which fields identify a record (its id, or
what it states for lines without one) and which fields name other records. The importer is
generic over these definitions, so a new type is one entry here and one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from keepwell.ingest import fields as f
from keepwell.ingest.fields import FieldError, Parser

RATED_METRICS = (
    "retention",
    "response_time",
    "resolution_time",
    "independence",
    "proactivity",
    "testimonials",
    "crm_hygiene",
)
ACTIVITY_KINDS = (
    "check_in",
    "call",
    "meeting",
    "ebr",
    "testimonial_request",
    "case_study_request",
    "referral_request",
    "note",
)
# The first version of a schedule has no effective date; stored as the first day there is.
NO_EFFECTIVE_DATE = date(1, 1, 1)


@dataclass(frozen=True)
class Field:
    key: str
    parse: Parser
    required: bool = False
    column: str = ""
    default: Any = None
    refers_to: tuple[str, ...] = ()  # the kinds of record this value names

    @property
    def column_name(self) -> str:
        return self.column or self.key


@dataclass(frozen=True)
class RecordType:
    name: str
    table: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # field keys that identify a record
    check: Callable[[dict[str, Any]], None] | None = None  # rules across fields
    defines: str | None = None  # the kind of id this type defines, for references
    extra_keys: frozenset[str] = field(default_factory=frozenset)  # kept whole in `spec`

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(fd.column_name for fd in self.fields)

    @cached_property
    def key_indexes(self) -> tuple[int, ...]:
        keys = [fd.key for fd in self.fields]
        return tuple(keys.index(k) for k in self.key)

    @cached_property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in self.key_indexes)

    @cached_property
    def allowed(self) -> frozenset[str]:
        return frozenset(fd.key for fd in self.fields) | {"type"} | self.extra_keys


def _survey_score_fits_kind(values: dict[str, Any]) -> None:
    low, high = (0, 10) if values["kind"] == "nps" else (1, 5)
    if not low <= values["score"] <= high:
        raise FieldError(f"{values['kind']} scores run {low}..{high}, got {values['score']}")


def _schedule_spec(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError("expected an object")
    return value


USER = RecordType(
    name="user",
    table="users",
    defines="user",
    key=("id",),
    fields=(
        Field("id", f.identifier, required=True),
        Field("name", f.text(200), required=True),
        Field("email", f.text(320)),
        Field("role", f.one_of("admin", "manager", "csm", "viewer"), required=True),
        Field("timezone", f.timezone, required=True),
        Field("schedule", f.identifier, column="schedule_id", refers_to=("schedule",)),
        # From when a changed `schedule` applies (PRODUCT.md 3); default: the import's day.
        Field("schedule_effective", f.day),
        Field("manager", f.identifier, column="manager_id", refers_to=("user",)),
        Field("slack_user_id", f.text(64)),
    ),
)

SCHEDULE = RecordType(
    name="schedule",
    table="schedule_versions",
    defines="schedule",
    key=("id", "effective"),
    fields=(
        Field("id", f.identifier, required=True, column="schedule_id"),
        Field("effective", f.day, default=NO_EFFECTIVE_DATE),
        Field("timezone", f.timezone, required=True),
        # The whole line but its type and id, validated by the business-hours engine.
        Field("spec", _schedule_spec, required=True),
    ),
    extra_keys=frozenset({"week", "holidays", "days"}),
)

ACCOUNT = RecordType(
    name="account",
    table="accounts",
    defines="account",
    key=("id",),
    fields=(
        Field("id", f.identifier, required=True),
        Field("name", f.text(300), required=True),
        Field("country", f.country),
        Field("timezone", f.timezone),
        Field("owner", f.identifier, column="owner_id", refers_to=("user",)),
        Field("started", f.day, required=True),
        Field("mrr", f.money),
        Field("currency", f.currency, default="USD"),
        Field("segment", f.text(64)),
        Field("tags", f.list_of_text),
        Field("stage", f.one_of("onboarding", "active", "churned")),
        Field("schedule", f.identifier, column="schedule_id", refers_to=("schedule",)),
        Field(
            "preferred_channel",
            f.one_of("slack", "email", "phone", "meeting", "other"),
        ),
        Field("renewal_date", f.day),
    ),
)

CONTACT = RecordType(
    name="contact",
    table="contacts",
    defines="contact",
    key=("id",),
    fields=(
        Field("id", f.identifier, required=True),
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("name", f.text(200)),
        Field("email", f.text(320)),
        Field("slack_user_id", f.text(64)),
        Field("role", f.one_of("champion", "executive_sponsor", "user")),
    ),
)

MESSAGE = RecordType(
    name="message",
    table="messages",
    defines="thread",
    key=("id",),
    fields=(
        Field("id", f.identifier, required=True),
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("thread", f.identifier, required=True, column="thread_id"),
        Field("at", f.instant, required=True),
        Field("author", f.identifier, column="author_id", refers_to=("user", "contact")),
        Field("direction", f.one_of("inbound", "outbound", "internal"), required=True),
        Field("channel", f.one_of("slack", "email", "phone", "meeting", "other"), required=True),
        Field("automated", f.boolean, default=False),
        Field("text", f.text(100_000)),
        # Deleted at the source (a Slack deletion): kept, never a request nor a response.
        Field("deleted", f.boolean, default=False),
    ),
)

RESOLVE = RecordType(
    name="resolve",
    table="resolves",
    key=("thread", "at"),
    fields=(
        Field("thread", f.identifier, required=True, column="thread_id", refers_to=("thread",)),
        Field("at", f.instant, required=True),
        Field("by", f.identifier, column="by_id", refers_to=("user",)),
        Field("note", f.text()),
    ),
)

ESCALATE = RecordType(
    name="escalate",
    table="escalations",
    key=("thread", "at"),
    fields=(
        Field("thread", f.identifier, required=True, column="thread_id", refers_to=("thread",)),
        Field("at", f.instant, required=True),
        Field("by", f.identifier, column="by_id", refers_to=("user",)),
        Field("to", f.identifier, column="to_id", refers_to=("user",)),
        Field("novel", f.boolean, default=False),
        Field("reason", f.text()),
    ),
)

ACTIVITY = RecordType(
    name="activity",
    table="activities",
    key=("id",),
    fields=(
        Field("id", f.identifier, required=True),
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("by", f.identifier, column="by_id", refers_to=("user",)),
        Field("at", f.instant, required=True),
        Field("kind", f.one_of(*ACTIVITY_KINDS), required=True),
        Field("text", f.text()),
    ),
)

NEXT_STEP = RecordType(
    name="next_step",
    table="next_steps",
    key=("account", "at"),
    fields=(
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("at", f.instant, required=True),
        Field("by", f.identifier, column="by_id", refers_to=("user",)),
        Field("text", f.text(), required=True),
        Field("due", f.day, required=True),
    ),
)

ASSIGN = RecordType(
    name="assign",
    table="assignments",
    key=("account", "at"),
    fields=(
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("at", f.instant, required=True),
        Field("owner", f.identifier, required=True, column="owner_id", refers_to=("user",)),
    ),
)

CHURN = RecordType(
    name="churn",
    table="churns",
    key=("account", "at"),
    fields=(
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("at", f.instant, required=True),
        Field("reason", f.text()),
    ),
)

MRR = RecordType(
    name="mrr",
    table="mrr_changes",
    key=("account", "at"),
    fields=(
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("at", f.instant, required=True),
        Field("mrr", f.money, required=True),
    ),
)

SURVEY = RecordType(
    name="survey",
    table="surveys",
    key=("id",),
    check=_survey_score_fits_kind,
    fields=(
        Field("id", f.identifier, required=True),
        Field("account", f.identifier, required=True, column="account_id", refers_to=("account",)),
        Field("contact", f.identifier, column="contact_id", refers_to=("contact",)),
        Field("at", f.instant, required=True),
        Field("kind", f.one_of("nps", "csat"), required=True),
        Field("score", f.integer(0, 10), required=True),
        Field("comment", f.text()),
    ),
)

REVIEW = RecordType(
    name="review",
    table="reviews",
    key=("csm", "month", "reviewer"),
    fields=(
        Field("csm", f.identifier, required=True, column="csm_id", refers_to=("user",)),
        Field("month", f.month, required=True),
        Field("reviewer", f.identifier, required=True, column="reviewer_id", refers_to=("user",)),
        Field("ratings", f.ratings(RATED_METRICS), required=True),
        Field("comment", f.text()),
    ),
)

# In write order: a record's references are written before it.
RECORD_TYPES: dict[str, RecordType] = {
    rt.name: rt
    for rt in (
        SCHEDULE,
        USER,
        ACCOUNT,
        CONTACT,
        MESSAGE,
        RESOLVE,
        ESCALATE,
        ACTIVITY,
        NEXT_STEP,
        ASSIGN,
        CHURN,
        MRR,
        SURVEY,
        REVIEW,
    )
}
