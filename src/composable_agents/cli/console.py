"""The one console object: every byte ``ca`` prints goes through it, and every error exit too.

A verb never calls ``print`` or ``sys.exit``: it renders through :class:`Console`
and ends early with :func:`abort`, which raises :class:`CliAbort`; ``app.main``
turns that into the message on stderr and the exit code. Output is rich (tables,
trees, colour) only when stdout is a terminal; otherwise it is plain, aligned
text that tests compare byte for byte. ``NO_COLOR`` keeps the layout and drops
colour. Rich is imported only when it will be used, so a piped ``ca ls`` never
pays for it.

Rejected: printing with ``typer.echo`` scattered through the verbs (no single
place to switch plain/rich, and exit paths multiply).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import IO, Any, Final, NoReturn

__all__ = ["DRIFT", "FAILED", "OK", "USAGE", "CliAbort", "Console", "abort", "console"]

OK: Final = 0
"""Exit code: success."""
FAILED: Final = 1
"""Exit code: blocking diagnostics, a failed run, nondeterminism."""
USAGE: Final = 2
"""Exit code: bad arguments, a malformed selector, an unknown name."""
DRIFT: Final = 3
"""Exit code: the ledger and the code disagree (``ca status``)."""


class CliAbort(Exception):
    """Raised by :func:`abort`; ``app.main`` prints ``message`` to stderr and exits with ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def abort(message: str, code: int = FAILED) -> NoReturn:
    """End the command: ``message`` goes to stderr and the process exits with ``code``."""
    raise CliAbort(message, code)


class Console:
    """Owns stdout/stderr for one ``ca`` invocation: plain text when piped, rich on a terminal."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self._out = out
        self._err = err
        self._rich: Any = None

    @property
    def out(self) -> IO[str]:
        """The output stream (``sys.stdout`` unless given)."""
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> IO[str]:
        """The error stream (``sys.stderr`` unless given)."""
        return self._err if self._err is not None else sys.stderr

    @property
    def is_terminal(self) -> bool:
        """Rich output: stdout is a terminal (``CA_FORCE_TERMINAL=1`` forces it, for tests of rich mode)."""
        if os.environ.get("CA_FORCE_TERMINAL") == "1":
            return True
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty and isatty())

    @property
    def color(self) -> bool:
        """Colour is on for a terminal unless ``NO_COLOR`` is set (to anything non-empty)."""
        return self.is_terminal and not os.environ.get("NO_COLOR")

    def rich(self) -> Any:
        """The ``rich.console.Console`` behind terminal output (created on first use)."""
        if self._rich is None:
            from rich.console import Console as RichConsole

            self._rich = RichConsole(
                file=self.out,
                force_terminal=True,
                no_color=not self.color,
                highlight=False,
                soft_wrap=True,
            )
        return self._rich

    # -- plain lines --------------------------------------------------------------------

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """One line of output (``style`` is a rich style, used only on a terminal)."""
        if self.is_terminal and style is not None:
            from rich.text import Text

            self.rich().print(Text(text, style=style))
            return
        self.out.write(text + "\n")
        self.out.flush()

    def json(self, value: Any) -> None:
        """``value`` as indented JSON (the ``--format json`` of every listing verb)."""
        self.out.write(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
        self.out.flush()

    def raw(self, text: str) -> None:
        """``text`` exactly as given (DOT, Mermaid, SVG)."""
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        """A message on stderr."""
        self.err.write(text + "\n")
        self.err.flush()

    def warn(self, text: str) -> None:
        """A warning on stderr (``warning: ...``)."""
        self.error(f"warning: {text}")

    # -- tables -------------------------------------------------------------------------

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
        """Rows under headers: a rich table on a terminal, space-aligned columns otherwise."""
        if self.is_terminal:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, show_edge=False, header_style="bold" if self.color else None)
            for h in headers:
                table.add_column(h)
            for row in rows:
                table.add_row(*(Text(cell) for cell in row))
            self.rich().print(table)
            return
        widths = [len(h) for h in headers]
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        for row in (list(headers), *rows):
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
            self.out.write("  ".join(cells).rstrip() + "\n")
        self.out.flush()


console = Console()
"""The process-wide console every verb renders through."""
