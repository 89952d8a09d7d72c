"""`keepwell user` and `keepwell token`: who can sign in, and their API tokens (issue 13 §1)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from keepwell.cli.app import app
from keepwell.cli.common import console, database, errors, fail
from keepwell.services.demo import DEMO_PASSWORD, DemoSignIn
from keepwell.services.tokens import TokenError, UnknownToken, create_token, list_tokens
from keepwell.services.tokens import revoke_token as revoke
from keepwell.services.users import (
    MIN_PASSWORD_LENGTH,
    UnknownUser,
    UserError,
    add_user,
    check_password,
    deactivate,
    get_user,
    reactivate,
    set_password,
)
from keepwell.store.db import transaction

user_app = typer.Typer(help="People who sign in: add, set a password, deactivate, reactivate.")
token_app = typer.Typer(help="API tokens (sent as 'Authorization: Bearer TOKEN').")
app.add_typer(user_app, name="user", no_args_is_help=True)
app.add_typer(token_app, name="token", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="The user's email.")]


def read_password() -> str:
    """The new password: one line of standard input when it is piped, else typed twice
    without echo."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    try:
        check_password(password)
    except UserError as exc:
        fail(str(exc))
    return password


@user_app.command("add")
def add_command(
    email: Annotated[str, typer.Option(help="Their email: they sign in with it.")],
    name: Annotated[str, typer.Option(help="Their name, as pages show it.")],
    role: Annotated[str, typer.Option(help="admin, manager, csm or viewer.")],
    user_id: Annotated[
        str | None, typer.Option("--id", help="Their id (default: u- and the email's name).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Their IANA time zone.")] = "UTC",
) -> None:
    """Add a user who can sign in; the password comes from standard input or a prompt."""
    password = read_password()
    with transaction(database(), writes=True) as session:
        try:
            user = add_user(
                session, email=email, name=name, role=role, password=password,
                now=datetime.now(UTC), user_id=user_id, timezone=timezone,
            )  # fmt: skip
        except UserError as exc:
            fail(str(exc))
    console.print(f"added {user.email} ({user.role}, id {user.id})", highlight=False)


@user_app.command("password")
def password_command(email: Email) -> None:
    """Set a user's password (their sessions end); from standard input or a prompt."""
    engine = database()
    with transaction(engine) as session:
        try:
            get_user(session, email)  # before asking for a password it would not use
        except UnknownUser as exc:
            fail(str(exc), 1)
    password = read_password()
    with transaction(engine, writes=True) as session:
        user = get_user(session, email)
        set_password(session, user, password, datetime.now(UTC))
    console.print(f"password set for {user.email}; their sessions are signed out", highlight=False)


@user_app.command("deactivate")
def deactivate_command(email: Email) -> None:
    """Stop a user from signing in: their sessions and tokens end at once."""
    with transaction(database(), writes=True) as session:
        try:
            user = get_user(session, email)
            sessions, tokens = deactivate(session, user, datetime.now(UTC))
        except UnknownUser as exc:
            fail(str(exc), 1)
        except UserError as exc:
            fail(_said(exc))
    console.print(
        f"deactivated {user.email}: {sessions} session(s) ended, {tokens} token(s) revoked",
        highlight=False,
    )


@user_app.command("reactivate")
def reactivate_command(email: Email) -> None:
    """Let a deactivated user sign in again with their password (their old sessions and
    tokens stay ended)."""
    with transaction(database()) as session:
        try:
            user = get_user(session, email)
            reactivate(session, user, datetime.now(UTC))
        except UnknownUser as exc:
            fail(str(exc), 1)
        except UserError as exc:
            fail(_said(exc))
    console.print(f"reactivated {user.email}: they can sign in again", highlight=False)


def _said(error: UserError) -> str:
    """A service's `field: message` as the command line says it (no form field here)."""
    return str(error).partition(": ")[2] or str(error)


@token_app.command("create")
def create_command(
    email: Email,
    label: Annotated[str | None, typer.Option("--name", help="What the token is for.")] = None,
) -> None:
    """Create a token for a user and print it, once: only its hash is kept."""
    with transaction(database(), writes=True) as session:
        try:
            token, secret = create_token(session, get_user(session, email), label, _now())
        except UnknownUser as exc:
            fail(str(exc), 1)
        except TokenError as exc:
            fail(str(exc), 1)
    errors.print(
        f"token {token.id} for {email}: shown once, store it now (revoke: keepwell token "
        f"revoke {token.id})",
        highlight=False,
    )
    sys.stdout.write(secret + "\n")


@token_app.command("revoke")
def revoke_command(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (token list).")],
) -> None:
    """Revoke a token: it stops working at once."""
    with transaction(database(), writes=True) as session:
        try:
            revoke(session, token_id, _now())
        except UnknownToken as exc:
            fail(str(exc), 1)
    console.print(f"token {token_id} revoked")


@token_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every token: whose, what for, when made and last used, revoked or not (never the
    token itself)."""
    with transaction(database()) as session:
        tokens = list_tokens(session)
    if as_json:
        rows = [
            {"id": t.id, "user": t.user_id, "email": t.email, "name": t.label,
             "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at),
             "revoked_at": _iso(t.revoked_at)}
            for t in tokens
        ]  # fmt: skip
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table("id", "user", "name", "created", "last used", "status")
    for t in tokens:
        table.add_row(
            str(t.id), t.email or t.user_id, t.label or "", _short(t.created_at),
            _short(t.last_used_at), "revoked" if t.revoked_at else "active",
        )  # fmt: skip
    console.print(table if tokens else "no tokens")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _short(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def print_demo_sign_ins(sign_ins: list[DemoSignIn]) -> None:
    """How to sign in to the demo, printed the one time its passwords are given."""
    if not sign_ins:
        return
    console.print(
        f"Sign in to the demo with the password [bold]{DEMO_PASSWORD}[/] as:", highlight=False
    )
    for who in sign_ins:
        console.print(f"  {who.role:<8} {who.email}  ({who.name})", highlight=False)
    console.print(
        "[yellow]warning:[/] a demo password everyone knows: never use it for real data "
        "(keepwell user password EMAIL sets another).",
        highlight=False,
    )
