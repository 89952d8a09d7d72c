"""exchange rates belong to the book

The admin's rates into the base currency (PRODUCT.md 6), set with `keepwell rates set` and
stored with the data they convert, so a multi-currency book's revenue report works wherever
the database goes. `KEEPWELL_EXCHANGE_RATES` still overrides them per currency.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# keepwell.store.types.UTCDateTime as it was when this migration was written.
INSTANT = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column("set_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("currency", name=op.f("pk_exchange_rates")),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
