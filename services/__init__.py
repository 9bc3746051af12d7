"""What runs: the HTTP API, the relay and projector workers, and the CLI."""

__all__: list[str] = []
