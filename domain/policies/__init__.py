"""Pure protocol policies: checks and derivations with every input passed in, no I/O."""

__all__: list[str] = []
