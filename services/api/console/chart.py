"""Actions per hour by outcome as an inline SVG bar chart: no script, no external asset.

Each hour is a stacked bar (successes below, failures above) with a `<title>` giving its
counts, so a screen reader or a hover tells the numbers; the figure's caption sums them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from html import escape
from typing import Final

__all__ = ["MAX_HOURS", "hourly_chart"]

MAX_HOURS: Final = 31 * 24
_WIDTH: Final = 960
_HEIGHT: Final = 220
_LEFT: Final = 44
_BOTTOM: Final = 28
_TOP: Final = 10
# Contrast on white above 4.5:1 for both (WCAG 1.4.11 asks 3:1 of graphics).
_COLOURS: Final = {"success": "#1d4ed8", "failure": "#b91c1c"}


def _ticks(peak: int) -> list[int]:
    if peak <= 4:
        return list(range(peak + 1))
    step = max(1, round(peak / 4))
    return list(range(0, peak + 1, step))


def hourly_chart(start: datetime, hours: int, counts: Mapping[tuple[datetime, str], int]) -> str:
    """Bars for `hours` hours from `start` (on the hour, UTC); `counts[(hour, outcome)]`."""
    hours = max(1, min(hours, MAX_HOURS))
    slots = [start + timedelta(hours=i) for i in range(hours)]
    per = [(counts.get((h, "success"), 0), counts.get((h, "failure"), 0)) for h in slots]
    peak = max((ok + failed for ok, failed in per), default=0) or 1
    plot_w, plot_h = _WIDTH - _LEFT - 8, _HEIGHT - _BOTTOM - _TOP
    bar_w = plot_w / hours
    parts: list[str] = []
    for value in _ticks(peak):
        y = _TOP + plot_h - plot_h * value / peak
        parts.append(
            f'<line x1="{_LEFT}" x2="{_WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dbe2"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11"'
            f' fill="#1d2433">{value}</text>'
        )
    label_every = max(1, hours // 12)
    for i, (hour, (ok, failed)) in enumerate(zip(slots, per, strict=True)):
        x = _LEFT + i * bar_w
        ok_h, failed_h = plot_h * ok / peak, plot_h * failed / peak
        base = _TOP + plot_h
        title = f"{hour:%Y-%m-%d %H:00} UTC: {ok} success, {failed} failure"
        parts.append(
            f'<g class="hour" data-hour="{hour:%Y-%m-%dT%H}" data-success="{ok}"'
            f' data-failure="{failed}"><title>{escape(title)}</title>'
            f'<rect x="{x:.1f}" y="{base - ok_h:.1f}" width="{max(bar_w - 1, 1):.1f}"'
            f' height="{ok_h:.1f}" fill="{_COLOURS["success"]}"/>'
            f'<rect x="{x:.1f}" y="{base - ok_h - failed_h:.1f}" width="{max(bar_w - 1, 1):.1f}"'
            f' height="{failed_h:.1f}" fill="{_COLOURS["failure"]}"/></g>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{_HEIGHT - 10}" font-size="11" fill="#1d2433">'
                f"{hour:%d %H:00}</text>"
            )
    total_ok = sum(ok for ok, _ in per)
    total_failed = sum(failed for _, failed in per)
    summary = (
        f"Actions per hour from {start:%Y-%m-%d %H:00} UTC for {hours} hours:"
        f" {total_ok} success, {total_failed} failure."
    )
    legend = (
        f'<rect x="{_LEFT}" y="0" width="10" height="10" fill="{_COLOURS["success"]}"/>'
        f'<text x="{_LEFT + 14}" y="9" font-size="11" fill="#1d2433">success</text>'
        f'<rect x="{_LEFT + 80}" y="0" width="10" height="10" fill="{_COLOURS["failure"]}"/>'
        f'<text x="{_LEFT + 94}" y="9" font-size="11" fill="#1d2433">failure</text>'
    )
    return (
        f'<figure><svg id="chart" xmlns="http://www.w3.org/2000/svg" role="img"'
        f' aria-labelledby="chart-title" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="100%">'
        f'<title id="chart-title">{escape(summary)}</title>{legend}{"".join(parts)}</svg>'
        f"<figcaption>{escape(summary)}</figcaption></figure>"
    )
