"""`keepwell user` and `keepwell token` (issue 13 §1)."""

import orjson
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from keepwell.cli.app import app
from keepwell.config import get_settings
from keepwell.store.db import transaction
from keepwell.store.models import ApiToken, User

runner = CliRunner()
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", database_url)
    get_settings.cache_clear()


def add(email: str = "ana@example.com", role: str = "csm", password: str = PASSWORD) -> str:
    result = runner.invoke(
        app,
        ["user", "add", "--email", email, "--name", "Ana", "--role", role],
        input=password + "\n",
    )
    return result.output if result.exit_code == 0 else f"exit {result.exit_code}: {result.output}"


def test_it_adds_a_user_with_the_password_from_standard_input(engine: Engine) -> None:
    assert add() == "added ana@example.com (csm, id u-ana)\n"
    with transaction(engine) as session:
        user = session.scalars(select(User)).one()
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"password": "short"}, "password: at least 8 characters"),
        ({"role": "boss"}, "role: unknown role 'boss'"),
        ({"email": "nope"}, "email: not an email address"),
    ],
)
def test_it_refuses_a_bad_user_in_one_line_with_exit_2(args: dict[str, str], message: str) -> None:
    output = add(**args)
    assert output.startswith("exit 2: error: ")
    assert message in output and output.count("\n") == 1


def test_a_token_is_printed_once_and_listed_without_its_secret(engine: Engine) -> None:
    add()
    created = runner.invoke(app, ["token", "create", "ana@example.com", "--name", "ci"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("kw_") and len(secret) > 40
    assert "shown once" in created.stderr
    listed = runner.invoke(app, ["token", "list", "--json"])
    (row,) = orjson.loads(listed.stdout)
    assert (row["email"], row["name"], row["revoked_at"]) == ("ana@example.com", "ci", None)
    assert f"token {row['id']} for ana@example.com" in created.stderr
    assert secret not in listed.output
    assert secret not in runner.invoke(app, ["token", "list"]).output
    with transaction(engine) as session:
        assert secret not in session.scalars(select(ApiToken.token_hash)).one()


def test_it_revokes_a_token_and_names_an_unknown_one() -> None:
    add()
    runner.invoke(app, ["token", "create", "ana@example.com"])
    (row,) = orjson.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert runner.invoke(app, ["token", "revoke", str(row["id"])]).exit_code == 0
    (row,) = orjson.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert row["revoked_at"] is not None
    unknown = runner.invoke(app, ["token", "revoke", "999999"])
    assert (unknown.exit_code, unknown.output) == (1, "error: no token with id 999999\n")


def test_deactivating_a_user_revokes_their_tokens_and_refuses_new_ones() -> None:
    add()
    runner.invoke(app, ["token", "create", "ana@example.com"])
    result = runner.invoke(app, ["user", "deactivate", "ana@example.com"])
    assert result.output == "deactivated ana@example.com: 0 session(s) ended, 1 token(s) revoked\n"
    (row,) = orjson.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert row["revoked_at"] is not None
    again = runner.invoke(app, ["token", "create", "ana@example.com"])
    assert (again.exit_code, again.output) == (
        1,
        "error: ana@example.com is deactivated: no new tokens\n",
    )


def test_it_sets_a_password_and_names_an_unknown_email(engine: Engine) -> None:
    add()
    with transaction(engine) as session:
        before = session.scalars(select(User.password_hash)).one()
    result = runner.invoke(app, ["user", "password", "ANA@example.com"], input="another one!\n")
    assert result.exit_code == 0, result.output
    with transaction(engine) as session:
        assert session.scalars(select(User.password_hash)).one() != before
    unknown = runner.invoke(app, ["user", "password", "bob@example.com"], input="whatever1\n")
    assert (unknown.exit_code, unknown.output) == (
        1,
        "error: no user with email 'bob@example.com'\n",
    )


def test_a_reactivated_user_signs_in_again_with_their_password(engine: Engine) -> None:
    from keepwell.services.users import sign_in
    from people import NOW

    add()
    runner.invoke(app, ["user", "deactivate", "ana@example.com"])
    result = runner.invoke(app, ["user", "reactivate", "ana@example.com"])
    assert (result.exit_code, result.output) == (
        0,
        "reactivated ana@example.com: they can sign in again\n",
    )
    with transaction(engine) as session:
        assert sign_in(session, "ana@example.com", PASSWORD, NOW).session_id is not None
    again = runner.invoke(app, ["user", "reactivate", "ana@example.com"])
    assert (again.exit_code, again.output) == (2, "error: ana@example.com is active already\n")
    unknown = runner.invoke(app, ["user", "reactivate", "bob@example.com"])
    said = "error: no user with email 'bob@example.com'\n"
    assert (unknown.exit_code, unknown.output) == (1, said)


def test_the_last_admin_cannot_be_deactivated(engine: Engine) -> None:
    add("root@example.com", role="admin")
    result = runner.invoke(app, ["user", "deactivate", "root@example.com"])
    assert (result.exit_code, result.output) == (
        2,
        "error: root@example.com is the last admin; make another first\n",
    )
    with transaction(engine) as session:
        assert session.scalars(select(User.active)).one() is True
