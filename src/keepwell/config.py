"""Settings from the environment, in one place: nothing else reads `os.environ`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepwell.domain.health import DEFAULT_WEIGHTS, WeightsError, validate_weights

PLACEHOLDER_SECRET = "change-me-in-production"


class Settings(BaseSettings):
    """Every knob of a Keepwell process. Environment variables are `KEEPWELL_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///keepwell.db"
    timezone: str = "UTC"  # the company zone: revenue and NPS months (PRODUCT.md 6)
    base_currency: str = "USD"
    # Rates into the base currency, as JSON: KEEPWELL_EXCHANGE_RATES='{"EUR": "1.08"}'.
    # A book in one currency needs none (PRODUCT.md 6).
    exchange_rates: dict[str, Decimal] = {}
    secret_key: str = PLACEHOLDER_SECRET
    sla_first_response_seconds: int = 3600  # 1 business hour
    sla_resolution_business_days: float = 1.0
    targets_file: str | None = None  # scorecard targets TOML; defaults when unset
    # Health model weights (PRODUCT.md 5) as JSON, e.g.
    # KEEPWELL_HEALTH_WEIGHTS='{"responsiveness": 30, "engagement": 30, "sentiment": 40}';
    # a measure left out weighs 0. Unset: the default model's weights.
    health_weights: dict[str, float] | None = None
    # Background jobs (issue 15): Redis when set, run by `keepwell worker`; otherwise a SQLite
    # queue beside the database (or at `jobs_path`), run inside `keepwell serve`.
    redis_url: str | None = None
    jobs_path: str | None = None
    jobs_queue: str = "keepwell"  # the queue's name: Redis keys start with it
    # Slack Events API: the app's signing secret; the reaction that resolves a request.
    slack_signing_secret: str | None = None
    slack_resolve_emoji: str = "white_check_mark"

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

    @field_validator("exchange_rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in rates.items():
            if len(code) != 3 or not code.isalpha() or rate <= 0:
                raise ValueError(f"exchange rate {code}: needs a currency code and a rate > 0")
        return {code.upper(): rate for code, rate in rates.items()}

    @field_validator("health_weights")
    @classmethod
    def _valid_weights(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        try:
            return validate_weights(weights)
        except WeightsError as exc:
            raise ValueError(str(exc)) from exc

    def weights(self) -> Mapping[str, float]:
        """The health model's weights in force."""
        return self.health_weights if self.health_weights is not None else DEFAULT_WEIGHTS

    @model_validator(mode="after")
    def _no_placeholder_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("KEEPWELL_SECRET_KEY must be set in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
