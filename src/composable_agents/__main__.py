"""``python -m composable_agents``: the ``ca`` command line (needs the ``cli`` extra)."""

import sys

__all__ = ["main"]


def main() -> None:
    """Run ``ca``; without the ``cli`` extra, say what to install and exit 2."""
    try:
        from composable_agents.cli.app import main as ca_main
    except ImportError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    ca_main()


if __name__ == "__main__":
    main()
