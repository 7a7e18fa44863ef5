"""A one-reasoner arrow for `ca run --live` (not in the project's modules: load it with `-m support.live`)."""

from __future__ import annotations

from composable_agents import Reasoner, think

summarize = Reasoner(name="summarize", model="anthropic:claude-haiku-4-5", system="Summarize in one word.")

summary = think(summarize).named("summary.v1")
