"""Charts drawn on the server as SVG by pygal (issue 13 §3): no script in them (pygal's
tooltips script is left out: the pages' policy forbids inline script), one series each drawn
with dots and a solid line so they read in grayscale; every chart's numbers are also a table
on the page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pygal
from pygal.style import Style

SCRIPT = re.compile(rb"<script\b.*?</script>", re.DOTALL)
GRAY = Style(
    background="white",
    plot_background="white",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#8a939c",
    colors=("#1d4e89",),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    title_font_size=14,
)


def _chart(
    kind: type[Any], title: str, *, style: Style = GRAY, height: int = 300, **options: Any
) -> Any:
    """A pygal chart of `kind` as every chart here is drawn: 720 wide, no script, its size
    written in the SVG."""
    return kind(style=style, width=720, height=height, js=[], disable_xml_declaration=False,
                explicit_size=True, title=title, **options)  # fmt: skip


def _svg(chart: Any) -> bytes:
    # pygal writes its config as a script even with js=[]: nothing on our pages runs it.
    svg: bytes = chart.render()
    return SCRIPT.sub(b"", svg)


def line_svg(title: str, points: Sequence[tuple[date, float | Decimal]], y_title: str) -> bytes:
    """A line chart of `points` (day, value) as standalone SVG bytes."""
    chart = _chart(
        pygal.Line,
        title,
        show_legend=False,
        x_label_rotation=30,
        show_minor_x_labels=False,
        dots_size=2,
        y_title=y_title,
        print_values=False,
    )
    labels = [day.isoformat() for day, _ in points]
    chart.x_labels = labels
    every = max(1, len(labels) // 8)
    chart.x_labels_major = labels[::every]
    chart.add(y_title, [float(value) for _, value in points])
    return _svg(chart)


def bar_svg(title: str, bars: Sequence[tuple[str, int]], y_title: str) -> bytes:
    """One bar a label (its count printed on it): a chart without a legend, each bar named
    under it, so it reads in grayscale."""
    chart = _chart(
        pygal.Bar,
        title,
        show_legend=False,
        y_title=y_title,
        print_values=True,
    )
    chart.x_labels = [label for label, _ in bars]
    chart.add(y_title, [value for _, value in bars])
    return _svg(chart)


# Five luminances, darkest to lightest, so that stacked series stay apart in grayscale; the
# legend lists them in stacking order and the page's table gives every number.
SHADES = ("#0b2545", "#3e6d9c", "#8fb3d9", "#c9dbee", "#5a5a5a")


def stacked_svg(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    y_title: str,
) -> bytes:
    """A stacked bar chart: positive series above zero, negative ones below it."""
    style = Style(**{**GRAY.to_dict(), "colors": SHADES[: len(series)]})
    chart = _chart(
        pygal.StackedBar,
        title,
        style=style,
        height=340,
        y_title=y_title,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series),
        x_label_rotation=30,
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, [float(value) for value in values])
    return _svg(chart)


OPEN = "#1d4e89"
CLOSED = "rgba(0, 0, 0, 0)"


def week_hours_svg(title: str, days: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> bytes:
    """A week's open hours as standalone SVG: a bar a day from 00:00 to 24:00 (local time),
    solid where the schedule is open and empty where it is closed (issue 14 §4). `days` are
    (label, open intervals in hours after midnight)."""
    days = list(reversed(days))  # a horizontal chart draws its first bar at the bottom
    widest = max((len(intervals) for _, intervals in days), default=0)
    chart = _chart(
        pygal.HorizontalStackedBar,
        title,
        style=Style(**{**GRAY.to_dict(), "colors": (CLOSED, OPEN) * max(widest, 1) + (CLOSED,)}),
        height=320,
        show_legend=False,
        x_title="hour of the day (local time)",
        range=(0, 24),
        xrange=(0, 24),
        y_labels=list(range(0, 25, 3)),
        print_values=False,
        spacing=4,
    )
    chart.x_labels = [label for label, _ in days]
    # Each day's bar is gap, open, gap, open, ... stacked: the k-th pair of series holds the
    # k-th interval of every day (0 where a day has fewer).
    for k in range(widest):
        gaps, spans = [], []
        for _, intervals in days:
            if k < len(intervals):
                start, end = intervals[k]
                before = intervals[k - 1][1] if k else 0.0
                gaps.append(start - before)
                spans.append(end - start)
            else:
                gaps.append(0.0)
                spans.append(0.0)
        chart.add(f"closed {k + 1}", gaps)
        chart.add(f"open {k + 1}", spans)
    if not widest:
        chart.add("closed", [24.0 for _ in days])
    return _svg(chart)


def months_svg(
    title: str,
    points: Sequence[tuple[str, float | None]],
    y_title: str,
    y_range: tuple[float, float] = (0, 100),
) -> bytes:
    """A line chart of one value per month (label, value; None: n/a, a gap in the line)."""
    chart = _chart(
        pygal.Line,
        title,
        show_legend=False,
        x_label_rotation=30,
        dots_size=3,
        y_title=y_title,
        range=y_range,
        print_values=False,
        allow_interruptions=True,
    )
    chart.x_labels = [label for label, _ in points]
    chart.add(y_title, [value for _, value in points])
    return _svg(chart)
