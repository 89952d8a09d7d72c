"""Users, sessions and tokens through the services, on a real database (issue 13 §1)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from keepwell.services.audit import history
from keepwell.services.sessions import (
    SESSION_LIFETIME,
    end_session,
    resolve_session,
    touch_session,
)
from keepwell.services.tokens import (
    create_token,
    list_tokens,
    resolve_token,
    revoke_token,
    touch_token,
)
from keepwell.services.users import (
    UserError,
    add_user,
    change_password,
    deactivate,
    find_user,
    sign_in,
)
from keepwell.store.db import transaction
from keepwell.store.models import ApiToken, SignInAttempt, User, WebSession

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def ana(engine: Engine) -> str:
    with transaction(engine) as session:
        return add_user(
            session, email="Ana@Example.com", name="Ana", role="csm", password=PASSWORD, now=NOW
        ).id


def test_it_adds_a_user_with_a_hashed_password_and_an_id_from_the_email(
    engine: Engine, ana: str
) -> None:
    with transaction(engine) as session:
        user = session.get(User, ana)
        assert user is not None
        assert (user.id, user.email, user.active) == ("u-ana", "ana@example.com", True)
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        (entry,) = history(session, "user:u-ana")
    assert entry.action == "user.add"
    assert "password" not in str(entry.after)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "ana@example.com"}, "email: a user with ana@example.com exists already"),
        ({"email": "not-an-email"}, "email: not an email address"),
        ({"role": "owner"}, "role: unknown role 'owner'"),
        ({"password": "short"}, "password: at least 8 characters"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"user_id": "u-ana", "email": "other@example.com"}, "id: a user with id 'u-ana'"),
    ],
)
def test_it_refuses_a_user_naming_the_field(
    engine: Engine, ana: str, changes: dict[str, str], field: str
) -> None:
    values = {"email": "new@example.com", "name": "New", "role": "csm", "password": PASSWORD}
    with transaction(engine) as session, pytest.raises(UserError, match=field):
        add_user(session, **{**values, **changes}, now=NOW)  # type: ignore[arg-type]


def test_it_signs_in_whatever_the_emails_case_and_records_the_attempt(
    engine: Engine, ana: str
) -> None:
    with transaction(engine) as session:
        outcome = sign_in(session, "  ANA@example.com ", PASSWORD, NOW)
        assert outcome.user is not None and outcome.session_id is not None
        live = resolve_session(session, outcome.session_id, NOW)
        assert live is not None and live.user is outcome.user
        attempts = session.execute(select(SignInAttempt.email, SignInAttempt.success)).all()
    assert attempts == [("ana@example.com", True)]


def test_it_refuses_a_wrong_password_and_an_unknown_email_alike(engine: Engine, ana: str) -> None:
    with transaction(engine) as session:
        assert sign_in(session, "ana@example.com", "wrong password", NOW).session_id is None
        assert sign_in(session, "bob@example.com", PASSWORD, NOW).session_id is None
        failures = session.scalar(select(func.count()).where(SignInAttempt.success.is_(False)))
    assert failures == 2


def test_it_throttles_the_sixth_try_even_with_the_right_password(engine: Engine, ana: str) -> None:
    with transaction(engine) as session:
        for n in range(5):
            sign_in(session, "ana@example.com", "wrong password", NOW + timedelta(seconds=n))
        refused = sign_in(session, "ana@example.com", PASSWORD, NOW + timedelta(minutes=1))
        assert refused.session_id is None
        assert refused.retry_at == NOW + timedelta(minutes=15)
        later = sign_in(session, "ana@example.com", PASSWORD, NOW + timedelta(minutes=15))
    assert later.session_id is not None


def test_it_ends_a_session_at_sign_out_and_at_expiry(engine: Engine, ana: str) -> None:
    with transaction(engine) as session:
        first = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        second = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        assert first and second
        end_session(session, first, NOW)
        assert resolve_session(session, first, NOW) is None
        assert resolve_session(session, second, NOW + SESSION_LIFETIME) is None
        assert resolve_session(session, second, NOW + timedelta(days=1)) is not None


def test_it_keeps_only_the_hash_of_a_token_and_resolves_the_token_to_its_user(
    engine: Engine, ana: str
) -> None:
    with transaction(engine) as session:
        user = session.get(User, ana)
        assert user is not None
        token, secret = create_token(session, user, "ci", NOW)
        stored = session.get(ApiToken, token.id)
        assert stored is not None and secret not in stored.token_hash
        live = resolve_token(session, secret, NOW)
        assert live is not None and live.user is user
        assert resolve_token(session, secret + "x", NOW) is None
        revoke_token(session, token.id, NOW)
        assert resolve_token(session, secret, NOW) is None
        (info,) = list_tokens(session)
    assert (info.email, info.label, info.revoked_at) == ("ana@example.com", "ci", NOW)
    assert secret not in repr(info)


def test_deactivation_ends_every_session_and_token_at_once(engine: Engine, ana: str) -> None:
    with transaction(engine) as session:
        session_id = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        user = session.get(User, ana)
        assert user is not None and session_id is not None
        _token, secret = create_token(session, user, None, NOW)
        assert deactivate(session, user, NOW) == (1, 1)
        assert resolve_session(session, session_id, NOW) is None
        assert resolve_token(session, secret, NOW) is None
        assert sign_in(session, "ana@example.com", PASSWORD, NOW).session_id is None


def test_a_password_change_needs_the_old_one_and_ends_the_other_sessions(
    engine: Engine, ana: str
) -> None:
    with transaction(engine) as session:
        here = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        elsewhere = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        user = find_user(session, "ana@example.com")
        assert user is not None and here and elsewhere
        with pytest.raises(UserError, match="old_password"):
            change_password(
                session, user, "not it at all", "new password 1", NOW, keep_session=here
            )
        change_password(session, user, PASSWORD, "new password 1", NOW, keep_session=here)
        live = resolve_session(session, here, NOW)
        assert live is not None and live.user is user
        assert resolve_session(session, elsewhere, NOW) is None
        assert sign_in(session, "ana@example.com", "new password 1", NOW).session_id


def test_an_email_longer_than_any_address_is_a_failed_sign_in_not_an_error(
    engine: Engine, ana: str
) -> None:
    with transaction(engine) as session:
        assert sign_in(session, "a" * 400 + "@example.com", PASSWORD, NOW).session_id is None


def test_a_session_and_a_token_are_marked_used_at_most_every_five_minutes(
    engine: Engine, ana: str
) -> None:
    later = NOW + timedelta(minutes=5)
    with transaction(engine) as session:
        session_id = sign_in(session, "ana@example.com", PASSWORD, NOW).session_id
        user = session.get_one(User, ana)
        assert session_id is not None
        _token, secret = create_token(session, user, None, NOW)
    with transaction(engine) as session:
        assert resolve_session(session, session_id, NOW + timedelta(minutes=4)).touch_due is False
        assert resolve_token(session, secret, NOW).touch_due is True  # never used
        assert resolve_session(session, session_id, later).touch_due is True
        touch_session(session, session_id, later)
        touch_token(session, secret, later)
    with transaction(engine) as session:
        assert session.get_one(WebSession, session_id).last_seen_at == later
        assert session.scalars(select(ApiToken.last_used_at)).one() == later
        assert not resolve_session(session, session_id, later + timedelta(minutes=1)).touch_due
        assert not resolve_token(session, secret, later + timedelta(minutes=1)).touch_due
