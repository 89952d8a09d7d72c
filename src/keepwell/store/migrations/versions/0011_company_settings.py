"""company settings: the rule settings an admin edits without the CLI

SLA targets, scorecard targets and health weights saved on the settings pages (issue 14 §4)
override the environment's defaults; a key with no row keeps the environment's value.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# keepwell.store.types.UTCDateTime as it was when this migration was written.
INSTANT = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "company_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_company_settings")),
    )


def downgrade() -> None:
    op.drop_table("company_settings")
