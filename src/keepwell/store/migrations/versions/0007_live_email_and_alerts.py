"""live email and alerts

Email as it arrives (the raw message, held until an account matches), where IMAP polling
stands per mailbox, domains mapped to accounts, alerts to CSMs as rows with their attempts,
and destinations a permanent vendor error disabled (issue 15 sections 3 and 4).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 01:59:04.327383
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# keepwell.store.types.UTCDateTime as it was when this migration was written.
INSTANT = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("recipient_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("due_at", INSTANT, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", INSTANT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "kind", "subject", "recipient_id", name=op.f("uq_alerts_kind_subject_recipient_id")
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "destinations",
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("disabled_at", INSTANT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_destinations")),
    )
    op.create_table(
        "mail",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.String(length=200), nullable=False),
        sa.Column("reply_to_ids", sa.JSON(), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail")),
    )
    with op.batch_alter_table("mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "mailboxes",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("polled_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_mailboxes")),
    )
    op.create_table(
        "mail_domains",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_mail_domains_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_mail_domains")),
    )


def downgrade() -> None:
    op.drop_table("mail_domains")
    op.drop_table("mailboxes")
    with op.batch_alter_table("mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_thread_id"))
        batch_op.drop_index(batch_op.f("ix_mail_state"))

    op.drop_table("mail")
    op.drop_table("destinations")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_next_attempt_at")

    op.drop_table("alerts")
