"""Execution: the shared interpreter, the Env seam, projection, results, backends."""

__all__: list[str] = []
