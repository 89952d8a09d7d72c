"""live conversations: webhook deliveries, background jobs, Slack channels, message edits

Deliveries are stored raw as they arrive and applied by a job (issue 15 §1); jobs keep a
record the admin can read; Slack channels map to accounts, and the Slack users seen in them
that nobody knows are listed for mapping (issue 15 §2). Messages get `deleted`: a message
deleted at the source is kept for the record, and counts as neither a request nor a response.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# keepwell.store.types.UTCDateTime as it was when this migration was written.
INSTANT = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=True),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retry_at", INSTANT, nullable=True),
        sa.Column("applied_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_deliveries_source_external_id")),
    )
    op.create_index("ix_deliveries_state_id", "deliveries", ["state", "id"])
    op.create_index("ix_deliveries_scope", "deliveries", ["scope"])
    op.create_table(
        "message_edits",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("edited_at", INSTANT, nullable=False),
        sa.Column("previous_text", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "edited_at", name=op.f("pk_message_edits")),
    )
    op.create_table(
        "slack_channels",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("mapped_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_slack_channels_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_slack_channels")),
    )
    op.create_index(
        op.f("ix_slack_channels_account_id"), "slack_channels", ["account_id"], unique=False
    )
    op.create_table(
        "slack_unknown_users",
        sa.Column("slack_user_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("last_seen", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("slack_user_id", name=op.f("pk_slack_unknown_users")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("args", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", INSTANT, nullable=True),
        sa.Column("finished_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("slack_unknown_users")
    op.drop_index(op.f("ix_slack_channels_account_id"), table_name="slack_channels")
    op.drop_table("slack_channels")
    op.drop_table("message_edits")
    op.drop_table("deliveries")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("deleted")
