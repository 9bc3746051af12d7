"""Wire contracts of keyledger: msgspec Structs only, no I/O."""

__all__: list[str] = []
