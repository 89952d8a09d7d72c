"""narrow health snapshots: a column per measure, the weights once per day

Snapshots held every measure's contribution as JSON (about 700 bytes a row); 90 days of a
10,000-account book took longer to write than to compute. They now hold the values, and
`health_runs` the weights of each day, from which the contributions follow. The old rows are
derived data: `keepwell health recompute --days N` rebuilds them.

No foreign keys on the snapshots: they are written in bulk by the recompute, from the
accounts and the run it has just read and written in the same transaction, and on
PostgreSQL a foreign key is a trigger per row (10 s of 27 for 90 days of 10,000 accounts).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = ("responsiveness", "engagement", "sentiment", "open_issues", "billing", "onboarding")


def upgrade() -> None:
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_health_snapshots_day")
    op.drop_table("health_snapshots")
    op.create_table(
        "health_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_health_runs")),
    )
    op.create_table(
        "health_snapshots",
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=8), nullable=True),
        *(sa.Column(measure, sa.Float(), nullable=True) for measure in MEASURES),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_health_snapshots")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("health_snapshots")
    op.drop_table("health_runs")
    op.create_table(
        "health_snapshots",
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_health_snapshots_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_health_snapshots")),
    )
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_health_snapshots_day", ["day"], unique=False)
