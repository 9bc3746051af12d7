"""Pure event-sourced deciders: commands in, events out. No I/O, no clock, no randomness."""

__all__: list[str] = []
