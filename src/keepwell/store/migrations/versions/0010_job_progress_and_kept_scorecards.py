"""job progress, and the scorecards kept when a month closes

A long job (a recompute of every SLA clock after a schedule change) says how far it has got:
`progress_done` of `progress_total` units with a short note, and the worker holding it beats
`heartbeat_at` as it goes, so that a job whose worker died is found and run again (issue 14
§5). `queued_at`: a job is recorded when it is enqueued, before any worker takes it.

`kept_scorecards`: each CSM's scorecard of a closed month, computed on the first day of the
month after (company zone) and kept as it was then (issue 14 §5).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# keepwell.store.types.UTCDateTime as it was when this migration was written.
INSTANT = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("queued_at", INSTANT, nullable=True))
        batch_op.add_column(sa.Column("progress_done", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("progress_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("progress_note", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", INSTANT, nullable=True))
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "kept_scorecards",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("csm_id", sa.String(length=200), nullable=False),
        sa.Column("as_of", INSTANT, nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("kept_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("month", "csm_id", name=op.f("pk_kept_scorecards")),
    )


def downgrade() -> None:
    op.drop_table("kept_scorecards")
    op.drop_index("ix_jobs_state", table_name="jobs")
    with op.batch_alter_table("jobs") as batch_op:
        for column in (
            "heartbeat_at", "worker", "progress_note", "progress_total", "progress_done",
            "queued_at",
        ):  # fmt: skip
            batch_op.drop_column(column)
