"""The demo team can sign in as every role, and is told how once (issue 13 §1)."""

from datetime import UTC, datetime

from sqlalchemy import Engine

from book import BASICS, load
from keepwell.services.demo import DEMO_PASSWORD, DemoSignIn, give_demo_passwords
from keepwell.services.users import sign_in
from keepwell.store.db import transaction

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_demo_team_signs_in_with_the_demo_password_as_each_role(engine: Engine) -> None:
    load(engine, *BASICS)  # Ana the CSM has an email; Kyle the manager has none
    with transaction(engine) as session:
        sign_ins = give_demo_passwords(session, NOW)
    assert sign_ins == [
        DemoSignIn("csm", "ana@example.com", "Ana"),
        DemoSignIn("viewer", "vera.lindqvist@example.com", "Vera Lindqvist"),
    ]
    with transaction(engine) as session:
        for who in sign_ins:
            assert sign_in(session, who.email, DEMO_PASSWORD, NOW).session_id, who.role


def test_the_demo_passwords_are_given_and_told_once(engine: Engine) -> None:
    load(engine, *BASICS)
    with transaction(engine) as session:
        give_demo_passwords(session, NOW)
    with transaction(engine) as session:
        assert give_demo_passwords(session, NOW) == []
