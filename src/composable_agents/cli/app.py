"""The ``ca`` application object and its single entry point."""

__all__ = ["main"]


def main() -> None:
    """Run the ``ca`` command line."""
    raise SystemExit("ca: not built yet")
