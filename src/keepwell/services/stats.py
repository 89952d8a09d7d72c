"""How many records of each import type the database holds (`keepwell stats`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keepwell.ingest.records import RECORD_TYPES
from keepwell.store.models import Base


def record_counts(session: Session) -> dict[str, int]:
    """Counts keyed by the import types of PRODUCT.md 9, plus the derived `request`."""
    tables = {name: rt.table for name, rt in RECORD_TYPES.items()}
    tables["request"] = "requests"
    counts = {}
    for name, table_name in tables.items():
        table = Base.metadata.tables[table_name]
        counts[name] = session.execute(select(func.count()).select_from(table)).scalar_one()
    return counts
