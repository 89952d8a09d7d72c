"""Create, drop or name a throwaway PostgreSQL database for a test run.

python scripts/pgdb.py create|drop|url SERVER_URL NAME
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def main(action: str, server: str, name: str) -> None:
    url = make_url(server)
    if action == "url":
        print(url.set(drivername="postgresql+psycopg", database=name).render_as_string(False))
        return
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as connection:
            if action == "create":
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                connection.execute(statement.format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        sys.exit(
            f"error: cannot reach PostgreSQL at {url.render_as_string()} ({exc}).\n"
            "Set KEEPWELL_TEST_POSTGRES to a server URL, or run scripts/test --sqlite-only."
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
