"""The typed authoring layer: arrows, leaves, the kernel and ``@flow``."""
