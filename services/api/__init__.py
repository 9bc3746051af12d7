"""The Litestar HTTP application."""

__all__: list[str] = []
