"""Changing a user's role and manager, deactivating and reactivating them (issue 14 §4):
the rules the settings pages and the command line share, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from keepwell.services.audit import history, recent
from keepwell.services.users import (
    UserError,
    add_user,
    change_user,
    deactivate,
    list_users,
    manager_choices,
    reactivate,
    sign_in,
)
from keepwell.store.db import transaction
from keepwell.store.models import User

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _add(session: Session, name: str, role: str, manager_id: str | None = None) -> User:
    return add_user(session, email=f"{name.lower()}@example.com", name=name, role=role,
                    password=PASSWORD, now=NOW, manager_id=manager_id)  # fmt: skip


@pytest.fixture
def team(engine: Engine) -> None:
    with transaction(engine) as session:
        _add(session, "Root", "admin")
        _add(session, "Kyle", "manager")
        _add(session, "Ana", "csm", manager_id="u-kyle")


def test_it_changes_role_and_manager_and_records_before_and_after(
    engine: Engine, team: None
) -> None:
    with transaction(engine) as session:
        ana = session.get_one(User, "u-ana")
        assert change_user(session, ana, role="manager", manager_id="u-root", now=NOW, by="u-root")
        assert not change_user(session, ana, role="manager", manager_id="u-root", now=NOW)
        entries = [e for e in history(session, "user:u-ana") if e.action == "user.change"]
    (entry,) = entries
    assert entry.before and entry.after and entry.by_id == "u-root"
    assert (entry.before["role"], entry.before["manager_id"]) == ("csm", "u-kyle")
    assert (entry.after["role"], entry.after["manager_id"]) == ("manager", "u-root")


@pytest.mark.parametrize(
    ("user_id", "role", "manager_id", "by", "said"),
    [
        ("u-ana", "boss", None, "u-root", "role: unknown role 'boss'"),
        ("u-ana", "csm", "u-nobody", "u-root", "manager_id: no user with id 'u-nobody'"),
        ("u-ana", "csm", "u-ana", "u-root", "manager_id: nobody manages themself"),
        ("u-kyle", "manager", "u-ana", "u-root", "manager_id: Ana is a csm"),
        ("u-kyle", "csm", None, "u-root", "role: Kyle manages 1 people"),
        ("u-root", "csm", None, "u-root", "role: you cannot change your own role"),
        ("u-root", "csm", None, None, "role: Root is the last admin"),
    ],
)
def test_it_refuses_a_change_naming_the_field(
    engine: Engine, team: None, user_id: str, role: str, manager_id: str | None,
    by: str | None, said: str,
) -> None:  # fmt: skip
    with transaction(engine) as session, pytest.raises(UserError, match=said):
        user = session.get_one(User, user_id)
        change_user(session, user, role=role, manager_id=manager_id, now=NOW, by=by)


def test_a_deactivated_manager_is_no_longer_offered_nor_accepted(
    engine: Engine, team: None
) -> None:
    with transaction(engine) as session:
        deactivate(session, session.get_one(User, "u-kyle"), NOW, by="u-root")
        assert manager_choices(session) == [("u-root", "Root")]
        with pytest.raises(UserError, match="manager_id: Kyle is deactivated"):
            _add(session, "Ben", "csm", manager_id="u-kyle")


def test_nobody_deactivates_themself_nor_the_last_admin(engine: Engine, team: None) -> None:
    with transaction(engine) as session:
        root = session.get_one(User, "u-root")
        with pytest.raises(UserError, match="active: you cannot deactivate yourself"):
            deactivate(session, root, NOW, by="u-root")
        with pytest.raises(UserError, match="is the last admin"):
            deactivate(session, root, NOW)
        _add(session, "Second", "admin")
        deactivate(session, root, NOW, by="u-second")
        assert root.active is False


def test_a_reactivated_user_signs_in_again_and_the_history_says_both(
    engine: Engine, team: None
) -> None:
    with transaction(engine) as session:
        ana = session.get_one(User, "u-ana")
        deactivate(session, ana, NOW, by="u-root")
        assert sign_in(session, "ana@example.com", PASSWORD, NOW).session_id is None
        with pytest.raises(UserError, match="is deactivated already"):
            deactivate(session, ana, NOW, by="u-root")
        reactivate(session, ana, NOW, by="u-root")
        assert sign_in(session, "ana@example.com", PASSWORD, NOW).session_id is not None
        with pytest.raises(UserError, match="is active already"):
            reactivate(session, ana, NOW, by="u-root")
        actions = [e.action for e in recent(session, "user.")]
        rows = {row.id: row for row in list_users(session)}
    assert actions[:2] == ["user.reactivate", "user.deactivate"]
    assert (rows["u-ana"].manager_name, rows["u-ana"].active) == ("Kyle", True)


def test_adding_a_user_checks_the_confirmation_and_the_manager(engine: Engine) -> None:
    with transaction(engine) as session:
        with pytest.raises(UserError, match="confirm_password: the two passwords differ"):
            add_user(session, email="a@example.com", name="A", role="csm", password=PASSWORD,
                     confirm_password=PASSWORD + "!", now=NOW)  # fmt: skip
        with pytest.raises(UserError, match="manager_id: no user with id 'u-x'"):
            add_user(session, email="a@example.com", name="A", role="csm", password=PASSWORD,
                     manager_id="u-x", now=NOW)  # fmt: skip
