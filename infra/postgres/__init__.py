"""PostgreSQL adapters: the event store, checkpoints, migrations."""

__all__: list[str] = []
