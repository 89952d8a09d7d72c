"""Scorecard targets: the green, yellow and red band of every metric and of the total
(PRODUCT.md 4: "Targets are configurable; these are the defaults").

A band is an interval of its metric's scale; each end is included or excluded, or left open
to the edge of the scale. The scale fixes the direction, which is not configurable:

- ratio, 0 to 1, higher is better: retention, independence, proactivity, testimonials,
  crm_hygiene, self_awareness;
- hours, 0 up, lower is better: response_time;
- business days, 0 up, lower is better: resolution_time;
- points, 0 to 100, higher is better: total.

Ratios are fractions from 0 to 1, never percentages (PRODUCT.md 4): `0.8`, not `80`.

The TOML file (`KEEPWELL_TARGETS_FILE`) has one table per metric key, plus `total`. A table
left out keeps its default bands; a table given names all three bands. A band gives at most
one lower end, `min` (included) or `above` (excluded), and at most one upper end, `max`
(included) or `below` (excluded); an end left out runs to the edge of the scale. The
defaults, read literally from the table of PRODUCT.md 4, in that shape:

    [retention]                          # also independence (0.9 / 0.8), proactivity
    green = { above = 0.8 }              # > 80 %
    yellow = { min = 0.7, max = 0.8 }    # 70–80 %, both ends
    red = { below = 0.7 }                # < 70 %

    [response_time]                      # hours; resolution_time alike, in business days
    green = { below = 1 }                # < 1 h
    yellow = { min = 1, below = 2 }      # 1–2 h; 2 h is red's
    red = { min = 2 }                    # ≥ 2 h

    [testimonials]                       # also crm_hygiene (0.95 / 0.8), self_awareness
    green = { min = 0.8 }                # ≥ 80 %
    yellow = { min = 0.6, below = 0.8 }  # 60–80 %; 80 % is green's
    red = { below = 0.6 }                # < 60 %

    [total]                              # points
    green = { min = 90 }
    yellow = { min = 75, below = 90 }
    red = { below = 75 }

Validation (`TargetsError`, whose message starts with the metric and whose `metric` names
it): known tables, colours and end keys only; ends are finite numbers inside the scale; no
band is empty; the three bands cover the whole scale with no gap and no overlap (where two
bands meet, exactly one of them includes the meeting value); from worse to better they run
red, yellow, green.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

GREEN, YELLOW, RED = "green", "yellow", "red"
COLORS = (GREEN, YELLOW, RED)

RETENTION = "retention"
RESPONSE_TIME = "response_time"
RESOLUTION_TIME = "resolution_time"
INDEPENDENCE = "independence"
PROACTIVITY = "proactivity"
TESTIMONIALS = "testimonials"
CRM_HYGIENE = "crm_hygiene"
SELF_AWARENESS = "self_awareness"
METRICS = (
    RETENTION,
    RESPONSE_TIME,
    RESOLUTION_TIME,
    INDEPENDENCE,
    PROACTIVITY,
    TESTIMONIALS,
    CRM_HYGIENE,
    SELF_AWARENESS,
)
TOTAL = "total"
TARGET_KEYS = (*METRICS, TOTAL)

LOWER_ENDS = {"min": True, "above": False}  # key → included
UPPER_ENDS = {"max": True, "below": False}


class TargetsError(ValueError):
    """Targets that are not valid; `metric` names the culprit when there is one."""

    def __init__(self, message: str, metric: str | None = None) -> None:
        super().__init__(message)
        self.metric = metric


@dataclass(frozen=True, slots=True)
class Scale:
    """The values a metric takes, and which way is better."""

    name: str
    floor: float
    ceiling: float  # math.inf: no upper edge
    higher_is_better: bool

    def worst_to_best(self) -> tuple[str, str, str]:
        """The colours from the bottom of the scale to its top."""
        return (RED, YELLOW, GREEN) if self.higher_is_better else (GREEN, YELLOW, RED)


RATIO = Scale("ratio", 0.0, 1.0, higher_is_better=True)
HOURS = Scale("hours", 0.0, math.inf, higher_is_better=False)
BUSINESS_DAYS = Scale("business days", 0.0, math.inf, higher_is_better=False)
TOTAL_POINTS = Scale("points", 0.0, 100.0, higher_is_better=True)
SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        **dict.fromkeys(METRICS, RATIO),
        RESPONSE_TIME: HOURS,
        RESOLUTION_TIME: BUSINESS_DAYS,
        TOTAL: TOTAL_POINTS,
    }
)


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a band: `value`, included or not."""

    value: float
    inclusive: bool


@dataclass(frozen=True, slots=True)
class Band:
    """A colour's interval; an end that is None runs to the edge of the scale, included."""

    color: str
    low: Bound | None = None
    high: Bound | None = None

    def contains(self, value: float) -> bool:
        """Whether `value` lies in the band (an open end takes everything on its side)."""
        low, high = self.low, self.high
        above_low = low is None or value > low.value or (low.inclusive and value == low.value)
        below_high = high is None or value < high.value or (high.inclusive and value == high.value)
        return above_low and below_high

    def lowest(self, scale: Scale) -> Bound:
        return self.low or Bound(scale.floor, True)

    def highest(self, scale: Scale) -> Bound:
        return self.high or Bound(scale.ceiling, True)


@dataclass(frozen=True, slots=True)
class MetricTargets:
    """The three bands of one metric (or of the total), validated on construction."""

    metric: str
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        if self.metric not in SCALES:
            raise TargetsError(f"{self.metric}: unknown metric", self.metric)
        _check_bands(self.metric, self.scale, self.bands)

    @property
    def scale(self) -> Scale:
        return SCALES[self.metric]

    def band_of(self, value: float) -> str:
        """The colour of the band holding `value` (PRODUCT.md 4, the table read literally)."""
        for band in self.bands:
            if band.contains(value):
                return band.color
        raise TargetsError(f"{self.metric}: {value!r} is outside the scale", self.metric)


@dataclass(frozen=True)
class Targets:
    """The bands of all eight metrics and of the total, keyed by TARGET_KEYS."""

    by_key: Mapping[str, MetricTargets]

    def __post_init__(self) -> None:
        missing = [key for key in TARGET_KEYS if key not in self.by_key]
        if missing:
            raise TargetsError(f"{missing[0]}: no bands given", missing[0])
        for key, metric in self.by_key.items():
            if metric.metric != key:
                raise TargetsError(f"{key}: holds the bands of {metric.metric}", key)

    def band_of(self, key: str, value: float) -> str:
        """The colour of `value` for metric `key` (or `total`)."""
        return self.by_key[key].band_of(value)


# Validation ---------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


def _check_bands(metric: str, scale: Scale, bands: tuple[Band, ...]) -> None:
    colors = sorted(band.color for band in bands)
    if colors != sorted(COLORS):
        raise TargetsError(f"{metric}: needs one green, one yellow and one red band", metric)
    for band in bands:
        _check_band(metric, scale, band)
    ordered = sorted(bands, key=lambda b: (b.lowest(scale).value, not b.lowest(scale).inclusive))
    _check_floor(metric, scale, ordered[0])
    for below, above in pairwise(ordered):
        _check_seam(metric, scale, below, above)
    _check_ceiling(metric, scale, ordered[-1])
    expected = scale.worst_to_best()
    if tuple(band.color for band in ordered) != expected:
        better = "higher" if scale.higher_is_better else "lower"
        raise TargetsError(
            f"{metric}: from low to high the bands must run {', '.join(expected)} "
            f"({better} is better)",
            metric,
        )


def _check_band(metric: str, scale: Scale, band: Band) -> None:
    where = f"{metric}.{band.color}"
    for bound in (band.low, band.high):
        if bound is None:
            continue
        if not math.isfinite(bound.value):
            raise TargetsError(f"{where}: {bound.value!r} is not a finite number", metric)
        if not scale.floor <= bound.value <= scale.ceiling:
            raise TargetsError(f"{where}: {_num(bound.value)} is outside {_range(scale)}", metric)
    low, high = band.lowest(scale), band.highest(scale)
    if low.value > high.value or (
        low.value == high.value and not (low.inclusive and high.inclusive)
    ):
        raise TargetsError(f"{where}: the band is empty", metric)


def _range(scale: Scale) -> str:
    top = "up" if math.isinf(scale.ceiling) else f"to {_num(scale.ceiling)}"
    note = " (ratios are fractions: 0.8, not 80)" if scale is RATIO else ""
    return f"the {scale.name} scale, {_num(scale.floor)} {top}{note}"


def _check_floor(metric: str, scale: Scale, first: Band) -> None:
    low = first.lowest(scale)
    if low.value == scale.floor and not low.inclusive:
        raise TargetsError(f"{metric}: {_num(low.value)} is in no band", metric)
    if low.value != scale.floor:
        raise TargetsError(
            f"{metric}: values from {_num(scale.floor)} to {_num(low.value)} are in no band",
            metric,
        )


def _check_ceiling(metric: str, scale: Scale, last: Band) -> None:
    high = last.highest(scale)
    if high.value == scale.ceiling and not high.inclusive:
        raise TargetsError(f"{metric}: {_num(high.value)} is in no band", metric)
    if high.value != scale.ceiling:
        top = "up" if math.isinf(scale.ceiling) else f"to {_num(scale.ceiling)}"
        raise TargetsError(f"{metric}: values from {_num(high.value)} {top} are in no band", metric)


def _check_seam(metric: str, scale: Scale, below: Band, above: Band) -> None:
    end, start = below.highest(scale), above.lowest(scale)
    pair = f"{below.color} and {above.color}"
    if end.value > start.value or (end.value == start.value and end.inclusive and start.inclusive):
        span = f"from {_num(start.value)} to {_num(end.value)}"
        where = f"at {_num(end.value)}" if end.value == start.value else span
        raise TargetsError(f"{metric}: {pair} overlap {where}", metric)
    if end.value < start.value:
        raise TargetsError(
            f"{metric}: values between {_num(end.value)} and {_num(start.value)} "
            f"({pair}) are in no band",
            metric,
        )
    if not (end.inclusive or start.inclusive):
        raise TargetsError(
            f"{metric}: {_num(end.value)} is in no band "
            f"(neither {below.color} nor {above.color} includes it)",
            metric,
        )


# Parsing ------------------------------------------------------------------------------------


def _table(
    green: dict[str, float], yellow: dict[str, float], red: dict[str, float]
) -> dict[str, dict[str, float]]:
    return {GREEN: green, YELLOW: yellow, RED: red}


DEFAULT_BANDS: Mapping[str, Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {
        RETENTION: _table({"above": 0.8}, {"min": 0.7, "max": 0.8}, {"below": 0.7}),
        RESPONSE_TIME: _table({"below": 1}, {"min": 1, "below": 2}, {"min": 2}),
        RESOLUTION_TIME: _table({"below": 1}, {"min": 1, "below": 2}, {"min": 2}),
        INDEPENDENCE: _table({"above": 0.9}, {"min": 0.8, "max": 0.9}, {"below": 0.8}),
        PROACTIVITY: _table({"above": 0.8}, {"min": 0.7, "max": 0.8}, {"below": 0.7}),
        TESTIMONIALS: _table({"min": 0.8}, {"min": 0.6, "below": 0.8}, {"below": 0.6}),
        CRM_HYGIENE: _table({"min": 0.95}, {"min": 0.8, "below": 0.95}, {"below": 0.8}),
        SELF_AWARENESS: _table({"min": 0.8}, {"min": 0.6, "below": 0.8}, {"below": 0.6}),
        TOTAL: _table({"min": 90}, {"min": 75, "below": 90}, {"below": 75}),
    }
)


def parse_targets(mapping: Mapping[str, Any]) -> Targets:
    """Targets from a TOML-shaped mapping (see the module docstring); tables left out keep
    the defaults of PRODUCT.md 4. Raises TargetsError naming the metric."""
    if not isinstance(mapping, Mapping):
        raise TargetsError("targets: expected a table of metrics")
    unknown = sorted(set(mapping) - set(TARGET_KEYS))
    if unknown:
        known = ", ".join(TARGET_KEYS)
        raise TargetsError(f"{unknown[0]}: unknown metric (one of {known})", unknown[0])
    tables = {**DEFAULT_BANDS, **mapping}
    return Targets(MappingProxyType({key: _parse_metric(key, tables[key]) for key in TARGET_KEYS}))


def _parse_metric(metric: str, table: Any) -> MetricTargets:
    if not isinstance(table, Mapping):
        raise TargetsError(f"{metric}: expected a table of green, yellow and red", metric)
    unknown = sorted(set(table) - set(COLORS))
    if unknown:
        raise TargetsError(f"{metric}.{unknown[0]}: unknown band (green, yellow, red)", metric)
    missing = [color for color in COLORS if color not in table]
    if missing:
        raise TargetsError(f"{metric}.{missing[0]}: missing band", metric)
    return MetricTargets(metric, tuple(_parse_band(metric, c, table[c]) for c in COLORS))


def _parse_band(metric: str, color: str, spec: Any) -> Band:
    where = f"{metric}.{color}"
    if not isinstance(spec, Mapping):
        raise TargetsError(f"{where}: expected a table such as {{ min = 0.7, max = 0.8 }}", metric)
    unknown = sorted(set(spec) - set(LOWER_ENDS) - set(UPPER_ENDS))
    if unknown:
        raise TargetsError(f"{where}: unknown key {unknown[0]!r} (min, above, max, below)", metric)
    return Band(
        color,
        _parse_end(where, metric, spec, LOWER_ENDS),
        _parse_end(where, metric, spec, UPPER_ENDS),
    )


def _parse_end(
    where: str, metric: str, spec: Mapping[str, Any], keys: Mapping[str, bool]
) -> Bound | None:
    given = [key for key in keys if key in spec]
    if len(given) > 1:
        raise TargetsError(f"{where}: give {' or '.join(given)}, not both", metric)
    if not given:
        return None
    value = spec[given[0]]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetsError(f"{where}.{given[0]}: {value!r} is not a number", metric)
    return Bound(float(value), keys[given[0]])


def load_targets_toml(path: str | Path) -> Targets:
    """Targets from a TOML file (shape in the module docstring); TargetsError when the file
    cannot be read or parsed, or its bands are not valid."""
    try:
        with Path(path).open("rb") as file:
            mapping = tomllib.load(file)
    except OSError as exc:
        raise TargetsError(f"targets file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TargetsError(f"targets file {path}: not valid TOML: {exc}") from exc
    return parse_targets(mapping)


def targets_to_mapping(targets: Targets) -> dict[str, dict[str, dict[str, float]]]:
    """The TOML-shaped mapping of `targets`: parse_targets reads it back to equal targets."""
    return {key: _metric_mapping(targets.by_key[key]) for key in TARGET_KEYS}


def _metric_mapping(metric: MetricTargets) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for band in metric.bands:
        spec: dict[str, float] = {}
        if band.low is not None:
            spec["min" if band.low.inclusive else "above"] = band.low.value
        if band.high is not None:
            spec["max" if band.high.inclusive else "below"] = band.high.value
        out[band.color] = spec
    return out


DEFAULT_TARGETS = parse_targets({})
