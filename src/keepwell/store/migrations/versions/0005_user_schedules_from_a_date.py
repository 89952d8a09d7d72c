"""user schedules from a date: a CSM's schedule change applies from its effective date on

Clocks ran on the owner's current `users.schedule_id`, so a change rewrote every past
request. `user_schedules` keeps each user's schedules by effective date; every user who has
a schedule gets one row holding it from the start (0001-01-01), so no existing clock
changes. `users.schedule_effective` keeps the date the user line gave.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_schedules",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("schedule_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_schedules_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "effective", name=op.f("pk_user_schedules")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_effective", sa.Date(), nullable=True))
    op.execute(
        "INSERT INTO user_schedules (user_id, effective, schedule_id) "
        "SELECT id, DATE '0001-01-01', schedule_id FROM users WHERE schedule_id IS NOT NULL"
        if op.get_bind().dialect.name == "postgresql"
        else "INSERT INTO user_schedules (user_id, effective, schedule_id) "
        "SELECT id, '0001-01-01', schedule_id FROM users WHERE schedule_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("schedule_effective")
    op.drop_table("user_schedules")
