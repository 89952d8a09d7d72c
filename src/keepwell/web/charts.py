"""Charts drawn on the server as SVG by pygal (issue 13 §3): no script in them (pygal's
tooltips script is left out: the pages' policy forbids inline script), one series each drawn
with dots and a solid line so they read in grayscale; every chart's numbers are also a table
on the page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

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


def line_svg(title: str, points: Sequence[tuple[date, float | Decimal]], y_title: str) -> bytes:
    """A line chart of `points` (day, value) as standalone SVG bytes."""
    chart = pygal.Line(
        style=GRAY,
        width=720,
        height=300,
        js=[],
        disable_xml_declaration=False,
        show_legend=False,
        x_label_rotation=30,
        show_minor_x_labels=False,
        dots_size=2,
        title=title,
        y_title=y_title,
        print_values=False,
        explicit_size=True,
    )
    labels = [day.isoformat() for day, _ in points]
    chart.x_labels = labels
    every = max(1, len(labels) // 8)
    chart.x_labels_major = labels[::every]
    chart.add(y_title, [float(value) for _, value in points])
    svg: bytes = chart.render()
    # pygal writes its config as a script even with js=[]: nothing on our pages runs it.
    return SCRIPT.sub(b"", svg)


def months_svg(
    title: str,
    points: Sequence[tuple[str, float | None]],
    y_title: str,
    y_range: tuple[float, float] = (0, 100),
) -> bytes:
    """A line chart of one value per month (label, value; None: n/a, a gap in the line)."""
    chart = pygal.Line(
        style=GRAY,
        width=720,
        height=300,
        js=[],
        disable_xml_declaration=False,
        show_legend=False,
        x_label_rotation=30,
        dots_size=3,
        title=title,
        y_title=y_title,
        range=y_range,
        print_values=False,
        explicit_size=True,
        allow_interruptions=True,
    )
    chart.x_labels = [label for label, _ in points]
    chart.add(y_title, [value for _, value in points])
    svg: bytes = chart.render()
    return SCRIPT.sub(b"", svg)
