from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepwell.domain.targets import (
    DEFAULT_TARGETS,
    SCALES,
    TARGET_KEYS,
    TargetsError,
    load_targets_toml,
    parse_targets,
    targets_to_mapping,
)


@pytest.mark.parametrize(
    ("key", "value", "band"),
    [
        ("retention", 1.0, "green"),
        ("retention", 0.8000001, "green"),
        ("retention", 0.8, "yellow"),
        ("retention", 0.7, "yellow"),
        ("retention", 0.6999999, "red"),
        ("retention", 0.0, "red"),
        ("response_time", 0.0, "green"),
        ("response_time", 0.9999999, "green"),
        ("response_time", 1.0, "yellow"),
        ("response_time", 1.9999999, "yellow"),
        ("response_time", 2.0, "red"),
        ("response_time", 1000.0, "red"),
        ("resolution_time", 1.0, "yellow"),
        ("resolution_time", 2.0, "red"),
        ("independence", 0.9000001, "green"),
        ("independence", 0.9, "yellow"),
        ("independence", 0.8, "yellow"),
        ("independence", 0.7999999, "red"),
        ("proactivity", 0.8, "yellow"),
        ("proactivity", 0.7, "yellow"),
        ("testimonials", 0.8, "green"),
        ("testimonials", 0.7999999, "yellow"),
        ("testimonials", 0.6, "yellow"),
        ("testimonials", 0.5999999, "red"),
        ("crm_hygiene", 0.95, "green"),
        ("crm_hygiene", 0.9499999, "yellow"),
        ("crm_hygiene", 0.8, "yellow"),
        ("crm_hygiene", 0.7999999, "red"),
        ("self_awareness", 0.8, "green"),
        ("self_awareness", 0.6, "yellow"),
        ("self_awareness", 0.5999999, "red"),
        ("total", 100.0, "green"),
        ("total", 90.0, "green"),
        ("total", 87.5, "yellow"),
        ("total", 75.0, "yellow"),
        ("total", 74.9999999, "red"),
    ],
)
def test_the_defaults_read_the_table_literally(key: str, value: float, band: str) -> None:
    assert DEFAULT_TARGETS.band_of(key, value) == band


@given(st.sampled_from(TARGET_KEYS), st.floats(min_value=0, max_value=1e6))
def test_every_value_of_a_scale_falls_in_exactly_one_default_band(key: str, value: float) -> None:
    value = min(value, SCALES[key].ceiling)
    bands = DEFAULT_TARGETS.by_key[key].bands
    assert sum(band.contains(value) for band in bands) == 1


@st.composite
def ratio_tables(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid ratio bands: red below a, yellow from a to b, green above b."""
    low = draw(st.floats(min_value=0.01, max_value=0.98))
    high = draw(st.floats(min_value=low, max_value=0.99, exclude_min=True))
    low_to_yellow, high_to_yellow = draw(st.booleans()), draw(st.booleans())
    return {
        "red": {"below" if low_to_yellow else "max": low},
        "yellow": {
            "min" if low_to_yellow else "above": low,
            "max" if high_to_yellow else "below": high,
        },
        "green": {"above" if high_to_yellow else "min": high},
    }


@given(ratio_tables(), st.floats(min_value=0, max_value=1))
def test_any_valid_bands_parse_and_hold_each_value_once(
    table: dict[str, Any], value: float
) -> None:
    metric = parse_targets({"retention": table}).by_key["retention"]
    assert sum(band.contains(value) for band in metric.bands) == 1


def test_a_table_left_out_keeps_the_defaults() -> None:
    bands = {"green": {"min": 0.9}, "yellow": {"min": 0.5, "below": 0.9}, "red": {"below": 0.5}}
    targets = parse_targets({"retention": bands})
    assert targets.band_of("retention", 0.85) == "yellow"
    assert targets.by_key["crm_hygiene"] == DEFAULT_TARGETS.by_key["crm_hygiene"]


def test_targets_round_trip_through_their_mapping() -> None:
    assert parse_targets(targets_to_mapping(DEFAULT_TARGETS)) == DEFAULT_TARGETS
    assert targets_to_mapping(DEFAULT_TARGETS)["retention"] == {
        "green": {"above": 0.8},
        "yellow": {"min": 0.7, "max": 0.8},
        "red": {"below": 0.7},
    }


def test_it_loads_targets_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        "[response_time]\n"
        "green = { below = 4 }\n"
        "yellow = { min = 4, max = 8 }\n"
        "red = { above = 8 }\n",
        encoding="utf-8",
    )
    targets = load_targets_toml(path)
    assert [targets.band_of("response_time", h) for h in (3.9, 8, 8.1)] == [
        "green",
        "yellow",
        "red",
    ]


def test_it_reports_a_file_that_is_not_toml_or_not_there(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[retention\n", encoding="utf-8")
    with pytest.raises(TargetsError, match="not valid TOML"):
        load_targets_toml(path)
    with pytest.raises(TargetsError, match=r"missing\.toml"):
        load_targets_toml(tmp_path / "missing.toml")


def retention(**bands: dict[str, Any]) -> dict[str, Any]:
    defaults = {"green": {"above": 0.8}, "yellow": {"min": 0.7, "max": 0.8}, "red": {"below": 0.7}}
    return {"retention": {**defaults, **bands}}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (retention(yellow={"min": 0.7, "max": 0.85}), "yellow and green overlap from 0.8 to 0.85"),
        (retention(green={"min": 0.8}), "yellow and green overlap at 0.8"),
        (retention(yellow={"min": 0.7, "below": 0.8}), "0.8 is in no band"),
        (retention(yellow={"min": 0.7, "max": 0.75}), "values between 0.75 and 0.8"),
        (retention(red={"above": 0, "below": 0.7}), "0 is in no band"),
        (retention(red={"min": 0.1, "below": 0.7}), "values from 0 to 0.1 are in no band"),
        (retention(green={"above": 0.8, "below": 1}), "1 is in no band"),
        (retention(green={"above": 0.8, "max": 0.9}), "values from 0.9 to 1 are in no band"),
        (
            retention(green={"above": 80}, yellow={"min": 70, "max": 80}, red={"below": 70}),
            "ratios are fractions",
        ),
        (
            retention(red={"above": 0.8}, green={"below": 0.7}),
            "must run red, yellow, green \\(higher is better\\)",
        ),
        (retention(yellow={"min": 0.8, "below": 0.8}), "retention.yellow: the band is empty"),
        (retention(yellow={"min": 0.7, "above": 0.7, "max": 0.8}), "give min or above, not both"),
        (
            retention(yellow={"min": "70%", "max": 0.8}),
            "retention.yellow.min: '70%' is not a number",
        ),
        (retention(yellow={"min": True, "max": 0.8}), "is not a number"),
        (retention(yellow={"from": 0.7, "max": 0.8}), "unknown key 'from'"),
        (retention(amber={"min": 0.7}), "retention.amber: unknown band"),
        ({"retention": {"green": {"above": 0.8}, "red": {"below": 0.8}}}, "yellow: missing band"),
        ({"retention": "> 80 %"}, "expected a table"),
        ({"retention": {**retention()["retention"], "green": 0.8}}, "retention.green: expected"),
    ],
)
def test_it_refuses_bands_that_overlap_leave_gaps_or_are_malformed(
    mapping: dict[str, Any], message: str
) -> None:
    with pytest.raises(TargetsError, match=message) as caught:
        parse_targets(mapping)
    assert caught.value.metric == "retention"
    assert str(caught.value).startswith("retention")


def test_it_checks_hours_bands_with_lower_is_better() -> None:
    bands = {"green": {"min": 2}, "yellow": {"min": 1, "below": 2}, "red": {"below": 1}}
    with pytest.raises(TargetsError, match="must run green, yellow, red \\(lower is better\\)"):
        parse_targets({"response_time": bands})
    open_top = {
        "green": {"below": 1},
        "yellow": {"min": 1, "below": 2},
        "red": {"min": 2, "max": 9},
    }
    with pytest.raises(TargetsError, match="response_time: values from 9 up are in no band"):
        parse_targets({"response_time": open_top})


def test_it_refuses_an_unknown_metric() -> None:
    with pytest.raises(TargetsError, match="nps: unknown metric") as caught:
        parse_targets({"nps": {}})
    assert caught.value.metric == "nps"
