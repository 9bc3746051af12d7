"""Adapters to the outside: Postgres event store, NATS, embedded servers, configuration, logging."""

__all__: list[str] = []
