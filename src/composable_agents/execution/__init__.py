"""Execution: the shared interpreter, the Env seam, projection, results, backends."""
