"""Ids made on every request sort in the order they were made, and stay unguessable."""

from __future__ import annotations

import re
import time

from services.commands import ordered_id


def test_ids_made_a_millisecond_apart_sort_in_the_order_they_were_made() -> None:
    made = []
    for _ in range(5):
        made.append(ordered_id())
        time.sleep(0.002)
    assert made == sorted(made)
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made)


def test_ids_made_in_the_same_millisecond_differ_in_their_random_part() -> None:
    made = [ordered_id() for _ in range(1000)]
    assert len(set(made)) == len(made)
    assert len({made_id[12:] for made_id in made}) == len(made)
    now_ms = time.time_ns() // 1_000_000
    assert all(abs(int(made_id[:12], 16) - now_ms) < 60_000 for made_id in made)
