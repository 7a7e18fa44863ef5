"""The typed authoring layer: arrows, leaves, the kernel and ``@flow``."""

__all__: list[str] = []
