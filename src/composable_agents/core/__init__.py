"""The pure core: kinds, IR, canonical codec, shapes, pures and schemas (no optional deps)."""

__all__: list[str] = []
