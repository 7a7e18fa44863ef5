"""Shim: ``surface_shape`` / ``closed_shape`` (the Sub firewall; see ``core.shapes``)."""

from composable_agents.core.shapes import closed_shape, shape_of, surface_shape

__all__ = ["closed_shape", "shape_of", "surface_shape"]
