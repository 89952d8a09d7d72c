"""The rule settings an admin changes without the CLI's environment (issue 14 §4): the SLA
targets (PRODUCT.md 3), the scorecard targets (PRODUCT.md 4) and the health weights
(PRODUCT.md 5).

The environment gives each its default (config.Settings: `KEEPWELL_SLA_FIRST_RESPONSE_
SECONDS`, `KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS`, `KEEPWELL_TARGETS_FILE`,
`KEEPWELL_HEALTH_WEIGHTS`); a value saved here (table `company_settings`, by the settings pages
or `keepwell settings set`) overrides it until it is reset. `effective` is the one place every
reader gets the values in force: SLA clocks, imports, alerts, scorecards, health, pages, API.

A change is checked by the same rules as the environment's variable (config.check_setting,
which runs config's validators; domain.targets for the bands), recorded in the audit log with
the values in force before and after, and says which recompute it needs (`Change.recompute`):
the caller enqueues it once the change is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from keepwell.config import Settings, check_setting
from keepwell.domain.health import MEASURES
from keepwell.domain.sla import SlaTargets
from keepwell.domain.targets import (
    DEFAULT_TARGETS,
    Targets,
    TargetsError,
    load_targets_toml,
    parse_targets,
    targets_to_mapping,
)
from keepwell.services import audit
from keepwell.store.models import AuditEntry, CompanySetting
from keepwell.store.upsert import insert

SLA_FIRST_RESPONSE = "sla_first_response_seconds"
SLA_RESOLUTION = "sla_resolution_business_days"
TARGETS = "targets"
HEALTH_WEIGHTS = "health_weights"
KEYS = (SLA_FIRST_RESPONSE, SLA_RESOLUTION, TARGETS, HEALTH_WEIGHTS)
# The environment variable that gives each key its default.
VARIABLES = {
    SLA_FIRST_RESPONSE: "KEEPWELL_SLA_FIRST_RESPONSE_SECONDS",
    SLA_RESOLUTION: "KEEPWELL_SLA_RESOLUTION_BUSINESS_DAYS",
    TARGETS: "KEEPWELL_TARGETS_FILE",
    HEALTH_WEIGHTS: "KEEPWELL_HEALTH_WEIGHTS",
}
# What must be computed again once a key changed (the kinds of jobs.recompute).
SLA, SCORECARDS, HEALTH = "sla", "scorecards", "health"
KINDS = (SLA, HEALTH, SCORECARDS)  # the order services.recompute runs them in
RECOMPUTE = {
    SLA_FIRST_RESPONSE: (SLA,),
    SLA_RESOLUTION: (SLA,),
    TARGETS: (SCORECARDS,),
    HEALTH_WEIGHTS: (HEALTH,),
}
SAVED, ENVIRONMENT, DEFAULT = "saved", "environment", "default"
SUBJECT = "settings:"  # the audit log's subject: settings:<key>


class SettingRefused(ValueError):
    """A value that cannot be saved: `key` is the setting, `field` where the message belongs
    (the key, or inside it: `health_weights.billing`, `targets.retention.green`)."""

    def __init__(self, key: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.field = field or key
        self.message = message


@dataclass(frozen=True)
class Saved:
    """A key's value as saved in the database, by whom and when."""

    value: Any
    by: str | None
    at: datetime


@dataclass(frozen=True)
class Rules:
    """The values in force: what was saved, else the environment's (`environment`)."""

    environment: Settings
    saved: Mapping[str, Saved] = field(default_factory=dict)

    @property
    def sla(self) -> SlaTargets:
        return SlaTargets(self.value(SLA_FIRST_RESPONSE), self.value(SLA_RESOLUTION))

    @cached_property
    def targets(self) -> Targets:
        """The scorecard targets; TargetsError naming KEEPWELL_TARGETS_FILE when the
        environment's file is the source and cannot be read (read only when asked for: a bad
        file stops the scorecards, not an import)."""
        if TARGETS in self.saved:
            return parse_targets(self.saved[TARGETS].value)
        path = self.environment.targets_file
        if not path:
            return DEFAULT_TARGETS
        try:
            return load_targets_toml(path)
        except TargetsError as exc:
            raise TargetsError(f"{VARIABLES[TARGETS]} {path}: {exc}", exc.metric) from exc

    @property
    def weights(self) -> Mapping[str, float]:
        return self.value(HEALTH_WEIGHTS)

    def source(self, key: str) -> str:
        """Where the value in force comes from: SAVED, ENVIRONMENT or DEFAULT."""
        if key in self.saved:
            return SAVED
        env = self.environment
        given = {
            SLA_FIRST_RESPONSE: SLA_FIRST_RESPONSE in env.model_fields_set,
            SLA_RESOLUTION: SLA_RESOLUTION in env.model_fields_set,
            TARGETS: bool(env.targets_file),
            HEALTH_WEIGHTS: env.health_weights is not None,
        }
        return ENVIRONMENT if given[key] else DEFAULT

    def value(self, key: str) -> Any:
        """The value in force of `key`, as plain JSON data (targets: the TOML-shaped mapping
        of every metric; weights: every measure)."""
        if key == TARGETS:
            return targets_to_mapping(self.targets)
        if key in self.saved:
            return self.saved[key].value
        if key == HEALTH_WEIGHTS:
            return dict(self.environment.weights())
        if key in (SLA_FIRST_RESPONSE, SLA_RESOLUTION):
            return getattr(self.environment, key)
        raise SettingRefused(key, f"unknown setting (one of {', '.join(KEYS)})")


def effective(session: Session, environment: Settings) -> Rules:
    """The rule settings in force: each key's saved value, else the environment's default.
    Every reader of SLA targets, scorecard targets and health weights goes through here."""
    rows = session.scalars(select(CompanySetting))
    saved = {row.key: Saved(_loaded(row.key, row.value), row.updated_by, row.updated_at)
             for row in rows}  # fmt: skip
    return Rules(environment, {key: saved[key] for key in KEYS if key in saved})


@dataclass(frozen=True)
class InForce:
    """One key as `keepwell settings show` and `GET /api/settings` describe it."""

    key: str
    value: Any
    source: str  # SAVED, ENVIRONMENT or DEFAULT
    variable: str  # the environment variable that gives its default
    saved_by: str | None
    saved_at: datetime | None


def in_force(rules: Rules) -> list[InForce]:
    """Every key's value in force and where it comes from (TargetsError when the
    environment's targets file cannot be read)."""
    return [
        InForce(key, rules.value(key), rules.source(key), VARIABLES[key],
                saved.by if (saved := rules.saved.get(key)) else None,
                saved.at if saved else None)
        for key in KEYS
    ]  # fmt: skip


def _loaded(key: str, value: Any) -> Any:
    # SQLite's JSON column has numeric affinity: a saved 3.0 reads back as 3
    if key == SLA_RESOLUTION and isinstance(value, int | float):
        return float(value)
    return value


# -- changes


@dataclass(frozen=True)
class Change:
    """One key changed (or not: `changed` is False when the value was already in force)."""

    key: str
    before: Any
    after: Any
    changed: bool

    @property
    def recompute(self) -> tuple[str, ...]:
        """The recompute kinds the change needs; none when nothing changed."""
        return RECOMPUTE[self.key] if self.changed else ()


def recompute_kinds(changes: list[Change]) -> tuple[str, ...]:
    """The recompute kinds several changes need, each once, in a fixed order."""
    wanted = {kind for change in changes for kind in change.recompute}
    return tuple(kind for kind in KINDS if kind in wanted)


def check_value(key: str, value: Any) -> Any:
    """`value` for `key` as it would be saved, checked by the environment variable's rules
    (config), the bands by domain.targets; SettingRefused naming the field otherwise."""
    if key not in KEYS:
        raise SettingRefused(key, f"unknown setting (one of {', '.join(KEYS)})")
    if key == TARGETS:
        return _check_targets(value)
    if isinstance(value, bool):  # pydantic would read true as 1
        raise SettingRefused(key, f"expected a number, got {value!r}")
    if key == HEALTH_WEIGHTS and not isinstance(value, Mapping):
        raise SettingRefused(key, 'expected an object of weights such as {"engagement": 30}')
    try:
        checked = check_setting(key, value)
    except ValueError as exc:
        raise SettingRefused(key, str(exc), _weights_field(key, str(exc))) from None
    if key == HEALTH_WEIGHTS:
        return dict(checked)
    return float(checked) if key == SLA_RESOLUTION else int(checked)


def _weights_field(key: str, message: str) -> str | None:
    if key != HEALTH_WEIGHTS:
        return None
    measure = next((m for m in MEASURES if message.startswith(f"{m}:")), None)
    return f"{key}.{measure}" if measure else None


def _check_targets(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SettingRefused(TARGETS, "expected a table of metrics, as in the targets TOML")
    try:
        return targets_to_mapping(parse_targets(value))
    except TargetsError as exc:
        # "retention: ..." or "retention.green: ..." (or deeper): the metric, or its band
        parts = str(exc).split(":", 1)[0].split(".")
        inside = ".".join(parts[:2]) if exc.metric and parts[0] == exc.metric else exc.metric
        field = f"{TARGETS}.{inside}" if inside else None
        raise SettingRefused(TARGETS, str(exc), field) from None


@dataclass(frozen=True)
class Outcome:
    """What a save did: each key's change, and the recompute job recorded beside it (QUEUED,
    in the same transaction) for the caller to send once committed; None when nothing
    changed that needs one."""

    changes: tuple[Change, ...]
    job_id: str | None

    @property
    def changed(self) -> bool:
        return any(change.changed for change in self.changes)

    @property
    def recompute(self) -> tuple[str, ...]:
        return recompute_kinds(list(self.changes))


def change_settings(
    session: Session,
    environment: Settings,
    values: Mapping[str, Any],
    *,
    by: str | None,
    at: datetime,
    action: str = "settings.change",
    why: Mapping[str, Any] | None = None,
) -> Outcome:
    """Save new values of one or more keys, all checked before any is saved (SettingRefused
    names the first bad field). Each key whose value in force changes is saved with one
    audit entry (who, when, the value in force before and after, and where it came from); a
    value already in force is not saved (an environment's value is not pinned by a form
    submitted unchanged). `why`: what the audit entry also keeps (the back-test behind
    fitted weights). The recompute the changes need is recorded as a job (Outcome.job_id)."""
    checked = {key: check_value(key, value) for key, value in values.items()}
    rules = effective(session, environment)
    changes = []
    for key, value in checked.items():
        before = rules.value(key)
        change = Change(key, before, value, not _same(before, value))
        changes.append(change)
        if not change.changed:
            continue
        _save(session, key, value, by, at)
        audit.record(session, at=at, by=by, action=action, subject=SUBJECT + key,
                     before={"value": before, "source": rules.source(key)},
                     after={"value": value, **(why or {})})  # fmt: skip
    return _with_job(session, changes, by, at)


def change_setting(
    session: Session, environment: Settings, key: str, value: Any, *, by: str | None, at: datetime
) -> Outcome:
    """Save one key's new value (change_settings)."""
    return change_settings(session, environment, {key: value}, by=by, at=at)


def reset_setting(
    session: Session, environment: Settings, key: str, *, by: str | None, at: datetime
) -> Outcome:
    """Forget a key's saved value: the environment's is in force again. Recorded, and
    recomputed when the value in force changes."""
    if key not in KEYS:
        raise SettingRefused(key, f"unknown setting (one of {', '.join(KEYS)})")
    rules = effective(session, environment)
    if key not in rules.saved:
        before = rules.value(key)
        return Outcome((Change(key, before, before, False),), None)
    default = Rules(environment)
    before, after = rules.value(key), default.value(key)
    session.execute(delete(CompanySetting).where(CompanySetting.key == key))
    audit.record(session, at=at, by=by, action="settings.reset", subject=SUBJECT + key,
                 before={"value": before, "source": SAVED},
                 after={"value": after, "source": default.source(key)})  # fmt: skip
    return _with_job(session, [Change(key, before, after, not _same(before, after))], by, at)


def _with_job(session: Session, changes: list[Change], by: str | None, at: datetime) -> Outcome:
    kinds = recompute_kinds(changes)
    if not kinds:
        return Outcome(tuple(changes), None)
    from keepwell.services.recompute import record_recompute  # the recomputes: when needed

    keys = ", ".join(change.key for change in changes if change.changed)
    job_id = record_recompute(session, kinds, reason=f"settings changed: {keys}", by=by, now=at)
    return Outcome(tuple(changes), job_id)


def _save(session: Session, key: str, value: Any, by: str | None, at: datetime) -> None:
    statement = insert(session, CompanySetting.__table__).values(
        key=key, value=value, updated_by=by, updated_at=at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "updated_by": by, "updated_at": at}
        )
    )


def _same(a: Any, b: Any) -> bool:
    """Equal values (3600 and 3600.0 alike; a mapping key by key)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


# -- the back-test's fitted weights


class NothingToApply(SettingRefused):
    """The back-test offers no fitted weights (too few churns, or not surely better)."""


def apply_fitted_weights(
    session: Session,
    environment: Settings,
    *,
    today: date,
    by: str | None,
    at: datetime,
    quarters: int = 4,
) -> Outcome:
    """Make the back-test's fitted weights the health weights in force (issue 14 §2), when it
    offers them (services.health.backtest_report, run now on the weights in force); recorded
    as `settings.apply_fitted_weights`, with the AUCs that justified them."""
    from keepwell.services.health import backtest_report  # numpy-heavy: when used

    rules = effective(session, environment)
    report = backtest_report(
        session, today, quarters=quarters, timezone=environment.timezone,
        weights=rules.weights, now=at,
    )  # fmt: skip
    fitted = report["fitted"]
    if "error" in fitted or not fitted.get("offered"):
        why = fitted.get("error") or fitted.get("why") or "no fitted weights"
        raise NothingToApply(HEALTH_WEIGHTS, f"the back-test offers no fitted weights: {why}")
    evidence = {
        "backtest": {
            "today": today.isoformat(),
            "quarters": report["quarters"],
            "out_of_sample": fitted["out_of_sample"],
            "current_out_of_sample": fitted["current_out_of_sample"],
        }
    }
    return change_settings(
        session, environment, {HEALTH_WEIGHTS: fitted["weights"]}, by=by, at=at,
        action="settings.apply_fitted_weights", why=evidence,
    )  # fmt: skip


def recent_changes(session: Session, keys: Sequence[str], limit: int = 10) -> list[AuditEntry]:
    """The latest recorded changes of `keys` (settings pages' history), newest first."""
    subjects = [SUBJECT + key for key in keys]
    query = select(AuditEntry).where(AuditEntry.subject.in_(subjects))
    return list(
        session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    )
