"""The hourly chart is self-contained SVG whose bars carry their numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from services.api.console.chart import MAX_HOURS, hourly_chart

START = datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_each_hour_is_a_bar_with_its_counts_and_the_caption_sums_them() -> None:
    counts = {(START, "success"): 3, (START + timedelta(hours=2), "failure"): 2}
    svg = hourly_chart(START, 3, counts)
    bars = re.findall(r'data-hour="([^"]+)" data-success="(\d+)" data-failure="(\d+)"', svg)
    assert bars == [
        ("2026-12-01T10", "3", "0"),
        ("2026-12-01T11", "0", "0"),
        ("2026-12-01T12", "0", "2"),
    ]
    assert "for 3 hours: 3 success, 2 failure." in svg
    assert 'role="img"' in svg and "<script" not in svg and "href" not in svg


def test_the_chart_never_draws_more_than_its_maximum_of_hours() -> None:
    svg = hourly_chart(START, 10 * MAX_HOURS, {})
    assert svg.count('class="hour"') == MAX_HOURS
