"""A long-running process's startup objects, kept out of the cyclic garbage collector's way."""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_objects"]


def freeze_startup_objects() -> None:
    """Move every object built so far out of the collector's sight, for good.

    A server process builds about 90,000 objects as it starts (modules, the app, its caches)
    that live as long as it does. Left in the oldest generation, every full collection walks
    them all: under load, a pause of 40-90 ms every few seconds during which no request on
    that process moves (its p99). Frozen, they are never scanned again; objects made later
    are collected as before.
    """
    gc.collect()
    gc.freeze()
