"""Shim: the projection plane — activation events, value store, cost by shape, spans."""

from composable_agents.execution.projection import Projection, Recorder, activation_id

__all__ = ["Projection", "Recorder", "activation_id"]
