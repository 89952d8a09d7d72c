"""The tables. One model per record of PRODUCT.md section 2 that the import carries.

Ids are the source system's (PRODUCT.md 9), so re-imports and integrations address the same
row. Records without an id of their own are keyed by what they state (thread and time for
`resolve`/`escalate`, account and time for `next_step`, `assign`, `churn`, `mrr`).
`source_hash` is a 64-bit digest of the last imported content: a re-import with the same content is
recognised as unchanged without comparing every column.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from keepwell.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = String(200)
Money = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Schedule(Base):
    """One version of a business-hours schedule (PRODUCT.md 3); versions share an id."""

    __tablename__ = "schedule_versions"

    schedule_id: Mapped[str] = mapped_column(Id, primary_key=True)
    # The first version of a schedule has no effective date; it is stored as 0001-01-01 so
    # that the key stays NOT NULL (NULLs never collide in a unique key).
    effective: Mapped[date] = mapped_column(Date, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    schedule_id: Mapped[str | None] = mapped_column(Id)
    # The `schedule_effective` of the user line, as imported: when `schedule` took effect.
    schedule_effective: Mapped[date | None] = mapped_column(Date)
    manager_id: Mapped[str | None] = mapped_column(Id)
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Deactivation keeps the user's history (owner, reviews) but ends every session and token.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class UserSchedule(Base):
    """A user's schedule from a date on (PRODUCT.md 3: a CSM moving from a 20-hour to a
    40-hour week applies from its effective date): 00:00 of `effective` in the schedule's
    zone. The first row of a user holds from the start (stored as 0001-01-01); a NULL
    schedule is none (clocks run around the clock)."""

    __tablename__ = "user_schedules"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    effective: Mapped[date] = mapped_column(Date, primary_key=True)
    schedule_id: Mapped[str | None] = mapped_column(Id)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    started: Mapped[date] = mapped_column(Date)
    mrr: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    segment: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    stage: Mapped[str | None] = mapped_column(String(16))
    schedule_id: Mapped[str | None] = mapped_column(Id)
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    renewal_date: Mapped[date | None] = mapped_column(Date)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_id_at", "thread_id", "at"),
        Index("ix_messages_account_id_at", "account_id", "at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    thread_id: Mapped[str] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author_id: Mapped[str | None] = mapped_column(Id)
    direction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    # True for bots and auto-replies: they never count as a first response (PRODUCT.md 3).
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)
    # Deleted at the source: kept for the record, never a request nor a response.
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Request(Base):
    """An issue raised by a client, derived from its thread (PRODUCT.md 2).

    Never imported: rebuilt from messages, resolves and escalations whenever they change.
    Its id is the id of the inbound message that opened it, so it is stable across rebuilds.
    """

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_account_id_opened_at", "account_id", "opened_at"),
        Index("ix_requests_opened_at", "opened_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    thread_id: Mapped[str] = mapped_column(Id, index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_id: Mapped[str | None] = mapped_column(Id)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(Id)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    novel: Mapped[bool] = mapped_column(Boolean, default=False)
    last_inbound_id: Mapped[str | None] = mapped_column(Id)
    # SLA clocks (PRODUCT.md 3), kept by the SLA recompute: deadlines on the schedule the
    # clock runs on, business time to first response and to resolution once they happened.
    schedule_id: Mapped[str | None] = mapped_column(Id)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_seconds: Mapped[float | None] = mapped_column(Float)
    resolution_seconds: Mapped[float | None] = mapped_column(Float)
    resolution_days: Mapped[float | None] = mapped_column(Float)
    response_breached: Mapped[bool | None] = mapped_column(Boolean)
    resolution_breached: Mapped[bool | None] = mapped_column(Boolean)


class Resolve(Base):
    __tablename__ = "resolves"

    thread_id: Mapped[str] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    by_id: Mapped[str | None] = mapped_column(Id)
    note: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Escalation(Base):
    __tablename__ = "escalations"

    thread_id: Mapped[str] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    by_id: Mapped[str | None] = mapped_column(Id)
    to_id: Mapped[str | None] = mapped_column(Id)
    novel: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_account_id_at", "account_id", "at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    by_id: Mapped[str | None] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class NextStep(Base):
    __tablename__ = "next_steps"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    by_id: Mapped[str | None] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Assignment(Base):
    """An account moving to another owner from `at` on (the `assign` line)."""

    __tablename__ = "assignments"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Churn(Base):
    __tablename__ = "churns"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class MrrChange(Base):
    __tablename__ = "mrr_changes"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    mrr: Mapped[Decimal] = mapped_column(Money)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_account_id_at", "account_id", "at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[str | None] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class Review(Base):
    """A rating of a CSM's month: by the CSM (self-review) or by their manager."""

    __tablename__ = "reviews"

    csm_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    ratings: Mapped[dict[str, str]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[int | None] = mapped_column(BigInteger)


class HealthRun(Base):
    """A day's health recompute: the weights its snapshots were scored with, so that each
    snapshot's contributions can be shown as they were, whatever the weights are now."""

    __tablename__ = "health_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    accounts: Mapped[int] = mapped_column(Integer)


class HealthSnapshot(Base):
    """An account's health on a day (PRODUCT.md 5), kept as history for the trend and the
    back-test: the score, its computed band and every measure's value (None: no data).

    One narrow row per account and day (a year of 10,000 accounts is 3.65 million rows):
    the contributions follow from the values and the run's weights, so they are not stored.
    SQLite keeps the rows in key order (WITHOUT ROWID), an account's days side by side.
    """

    __tablename__ = "health_snapshots"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # No foreign keys: the recompute writes these in bulk from the accounts and the run it
    # has just read and written, and on PostgreSQL each key is a trigger per row.
    account_id: Mapped[str] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    responsiveness: Mapped[float | None] = mapped_column(Float)
    engagement: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float | None] = mapped_column(Float)
    open_issues: Mapped[float | None] = mapped_column(Float)
    billing: Mapped[float | None] = mapped_column(Float)
    onboarding: Mapped[float | None] = mapped_column(Float)


class HealthOverride(Base):
    """A manager's band override with a reason and an expiry; the computed score stays."""

    __tablename__ = "health_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    band: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExchangeRate(Base):
    """The admin's rate of one currency into the base currency (PRODUCT.md 6): one unit of
    `currency` is worth `rate` units of the base. The book's own setting; the environment's
    `KEEPWELL_EXCHANGE_RATES` overrides it per currency."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Mail(Base):
    """An email as it arrived (README "Email"): the raw message is kept, the text used for
    metrics is the message row's. `state`: applied (a message row `email:<Message-ID>`),
    held (no account matched yet), failed (the import refused it: `error`)."""

    __tablename__ = "mail"

    id: Mapped[str] = mapped_column(Id, primary_key=True)  # the message's id: email:<...>
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[str] = mapped_column(Id, index=True)
    reply_to_ids: Mapped[list[str]] = mapped_column(JSON)  # the message ids it replies to
    account_id: Mapped[str | None] = mapped_column(Id)
    state: Mapped[str] = mapped_column(String(8), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Mailbox(Base):
    """Where IMAP polling of a mailbox stands: only UIDs above `last_uid` are new, while the
    server's UIDVALIDITY stays the same (RFC 3501 2.3.1.1)."""

    __tablename__ = "mailboxes"

    url: Mapped[str] = mapped_column(String(500), primary_key=True)  # without the password
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailDomain(Base):
    """An admin's mapping of a sender domain to an account (`keepwell mail map`)."""

    __tablename__ = "mail_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))


class Alert(Base):
    """One alert to a CSM (README "Alerts"): planned once (unique on kind, subject and
    recipient), claimed by one worker, sent, retried or failed; every attempt counted."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "recipient_id"),
        Index("ix_alerts_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # sla_warning, sla_breach, digest
    subject: Mapped[str] = mapped_column(Id)  # the request id, or the digest's local date
    request_id: Mapped[str | None] = mapped_column(Id)
    recipient_id: Mapped[str] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(8))  # slack, email, log
    address: Mapped[str] = mapped_column(String(320))  # Slack user id, email, or user id
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))  # pending sending sent failed cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Destination(Base):
    """A destination a permanent vendor error disabled (a Slack user, an email address, or a
    whole channel as address "*"), until an admin enables it again."""

    __tablename__ = "destinations"

    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    disabled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A signed-in browser (issue 13 §1). The cookie carries only the random id; ending the
    row here (sign-out, deactivation, expiry) ends the session at once."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the API. Only the SHA-256 of its random secret is kept: the secret
    is shown once, and a leaked table does not sign anyone in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(Base):
    """One checked password, right or wrong: the sign-in throttle counts these."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """Who changed what and when: one row per write, with the record before and after.
    `by_id` is the signed-in user; None for the command line and the system."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[str | None] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Delivery(Base):
    """A webhook delivery as it came (issue 15 §1): stored raw and answered at once, applied
    by a background job. One row per source and external id, however often it is resent.

    States: pending (to apply), failed (an attempt failed, retried with backoff), dead (the
    last attempt failed), held (waits for a mapping, say of its Slack channel: `scope`),
    applied."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_deliveries_state_id", "state", "id"),
        Index("ix_deliveries_scope", "scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    # What a mapping releases it by: a Slack channel id.
    scope: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageEdit(Base):
    """A message's text before an edit at the source, kept when the edit replaced it."""

    __tablename__ = "message_edits"

    message_id: Mapped[str] = mapped_column(Id, primary_key=True)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    previous_text: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)


class SlackChannel(Base):
    """A Slack channel shared with a client: its messages are the account's."""

    __tablename__ = "slack_channels"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    mapped_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlackUnknownUser(Base):
    """A Slack user who wrote in an account's channel and is neither a contact nor a team
    member (by `slack_user_id`): listed for mapping."""

    __tablename__ = "slack_unknown_users"

    slack_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    """A background job's record (issue 15): what ran, its state, attempts and last error."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_finished_at", "finished_at"), Index("ix_jobs_state", "state"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the queue's task id
    name: Mapped[str] = mapped_column(String(200))
    args: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # running, done, retrying, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far a long job has got (a recompute: units of work done of all), and what it does.
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_note: Mapped[str | None] = mapped_column(String(200))
    # The process holding a running job ("host:pid") and its last sign of life: a job whose
    # worker died is found by them and run again (`keepwell.jobs.recompute`).
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KeptScorecard(Base):
    """A CSM's scorecard of a closed month as computed on the month after's first day
    (company zone), evaluated at that day's start (issue 14 §5): `card` is its JSON
    (`domain.scorecard`), kept so that the month's record stays as it was then."""

    __tablename__ = "kept_scorecards"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    csm_id: Mapped[str] = mapped_column(Id, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    total: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CompanySetting(Base):
    """A rule setting an admin changed on the settings pages or with `keepwell settings set`
    (issue 14 §4): SLA targets, scorecard targets, health weights. A key with no row keeps
    the environment's value (config.Settings); services/company_settings.py reads both."""

    __tablename__ = "company_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(Id)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
