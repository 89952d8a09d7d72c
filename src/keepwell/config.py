"""Settings from the environment, in one place: nothing else reads `os.environ`.

Every setting is checked when the settings are first read; a bad one raises `ConfigError`,
whose message is one line naming the variable and what is wrong with it
(`KEEPWELL_TIMEZONE: unknown time zone 'Mars/Base'`). The `keepwell` command prints it and
exits with status 2 (docs/configuration.md lists every variable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

PLACEHOLDER_SECRET = "change-me-in-production"
PREFIX = "KEEPWELL_"
# The database URLs Keepwell runs on: SQLite (the standard library's driver) and
# PostgreSQL through psycopg 3, the driver it installs.
DATABASES = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}
DEFAULT_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}  # SQLAlchemy 2.1's
JSON_EXAMPLES = {
    "exchange_rates": '{"EUR": "1.08"}',
    "health_weights": '{"engagement": 30, "sentiment": 30, "billing": 40}',
}


class ConfigError(Exception):
    """A setting that cannot be used; the message names its variable."""


class Settings(BaseSettings):
    """Every knob of a Keepwell process. Environment variables are `KEEPWELL_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///keepwell.db"
    timezone: str = "UTC"  # the company zone: revenue and NPS months (PRODUCT.md 6)
    base_currency: str = "USD"
    # Rates into the base currency, as JSON: KEEPWELL_EXCHANGE_RATES='{"EUR": "1.08"}'.
    # A book in one currency needs none (PRODUCT.md 6).
    exchange_rates: Annotated[dict[str, Decimal], NoDecode] = {}
    secret_key: str = PLACEHOLDER_SECRET
    sla_first_response_seconds: int = Field(3600, gt=0)  # 1 business hour
    sla_resolution_business_days: float = Field(1.0, gt=0, allow_inf_nan=False)
    targets_file: str | None = None  # scorecard targets TOML; defaults when unset
    # Health model weights (PRODUCT.md 5) as JSON, e.g.
    # KEEPWELL_HEALTH_WEIGHTS='{"responsiveness": 30, "engagement": 30, "sentiment": 40}';
    # a measure left out weighs 0. Unset: the default model's weights.
    health_weights: Annotated[dict[str, float] | None, NoDecode] = None
    # Live email (README "Email"): the shared inbox, e.g. imaps://user:pass@host/INBOX, and
    # the domains whose senders are the team (besides the users' own addresses).
    imap_url: str | None = None
    team_email_domains: list[str] = []
    # Alerts out (README "Alerts"): a Slack bot token or an SMTP URL; neither: the log.
    slack_bot_token: str | None = None
    slack_api_url: str | None = None  # slack_sdk's default when unset; a fake one in tests
    smtp_url: str | None = None  # smtp://user:pass@host:25 or smtps://...:465
    alert_from_email: str = "keepwell@localhost"
    alert_lead_seconds: int = Field(900, ge=0)  # business seconds before a first response is due
    # Background jobs (issue 15): Redis when set, run by `keepwell worker`; otherwise a SQLite
    # queue beside the database (or at `jobs_path`), run by the jobs process of `keepwell serve`.
    redis_url: str | None = None
    jobs_path: str | None = None
    jobs_queue: str = "keepwell"  # the queue's name: Redis keys start with it
    # Slack Events API: the app's signing secret; the reaction that resolves a request.
    slack_signing_secret: str | None = None
    slack_resolve_emoji: str = "white_check_mark"
    # Pages keep their figures until the book changes, at most this long (web/page_cache.py).
    page_cache_seconds: float = Field(10.0, ge=0, le=3600, allow_inf_nan=False)

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        # SQLAlchemy only when a command reads its settings, not on every import.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        backend, _, driver = url.drivername.partition("+")
        if (backend, driver or DEFAULT_DRIVERS.get(backend)) not in DATABASES:
            raise ValueError(
                f"{value!r} is not a database Keepwell runs on: use sqlite:///FILE "
                "or postgresql+psycopg://USER@HOST/NAME"
            )
        if backend == "sqlite":
            _check_sqlite_file(url.database or "")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("base_currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"not a three-letter currency code: {value!r}")
        return value.upper()

    @field_validator("exchange_rates", "health_weights", mode="before")
    @classmethod
    def _json_object(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        example = JSON_EXAMPLES[str(info.field_name)]
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {value!r} (expected e.g. {example})") from exc
        if not isinstance(parsed, dict):
            raise ValueError(f"expected a JSON object such as {example}, got {value!r}")
        return parsed

    @field_validator("exchange_rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in rates.items():
            if len(code) != 3 or not code.isalpha():
                raise ValueError(f"{code!r} is not a three-letter currency code")
            if rate <= 0:
                raise ValueError(f"{code}: the rate must be above 0, got {rate}")
        return {code.upper(): rate for code, rate in rates.items()}

    @field_validator("health_weights")
    @classmethod
    def _valid_weights(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        from keepwell.domain.health import WeightsError, validate_weights  # numpy: lazily

        try:
            return validate_weights(weights)
        except WeightsError as exc:
            if exc.measure is None and not any(weights.values()):
                raise ValueError(
                    "every weight is 0 (a measure left out weighs 0): give one a weight above 0"
                ) from exc
            raise ValueError(str(exc)) from exc

    def weights(self) -> Mapping[str, float]:
        """The health model's weights in force."""
        from keepwell.domain.health import DEFAULT_WEIGHTS

        return self.health_weights if self.health_weights is not None else DEFAULT_WEIGHTS

    @model_validator(mode="after")
    def _no_placeholder_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError(
                f"{PREFIX}SECRET_KEY: must be set when {PREFIX}ENVIRONMENT=production "
                "(it signs sessions and links)"
            )
        return self


def _check_sqlite_file(database: str) -> None:
    """A SQLite file can be created only in a folder that exists (`:memory:` needs none)."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise ValueError(f"{database} is a folder, not a database file")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} of the SQLite database does not exist")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; `ConfigError` names the first bad one."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # a source that could not be read at all
        raise ConfigError(str(exc)) from None


def check_setting(name: str, value: Any) -> Any:
    """`value` checked by the very rules of the setting `name` (those of its environment
    variable, the validators above), and returned as Settings keeps it. For the settings an
    admin changes in the database (services/company_settings.py): raises ValueError whose
    message says what is wrong, without the variable's name."""
    probe = Settings.model_construct()
    try:
        Settings.__pydantic_validator__.validate_assignment(probe, name, value)
    except ValidationError as exc:
        error = exc.errors()[0]
        inside = ": ".join(str(part) for part in error["loc"][1:])
        text = _error_text(error)
        raise ValueError(f"{inside}: {text}" if inside else text) from None
    return getattr(probe, name)


def _error_text(error: Any) -> str:
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    if error["type"] != "value_error" and "input" in error:
        message = f"{message[:1].lower()}{message[1:]}, got {error['input']!r}"
    return message


def _describe(exc: ValidationError) -> str:
    """`KEEPWELL_<NAME>: what is wrong` for each error, on one line."""
    lines = []
    for error in exc.errors():
        field, *inside = error["loc"] or ("",)
        message = _error_text(error)
        where = ": ".join(str(part) for part in inside)
        text = f"{where}: {message}" if where else message
        lines.append(f"{PREFIX}{str(field).upper()}: {text}" if field else text)
    return "; ".join(lines)
