"""tools: the gbhan command line.

The public API is `main` (the `gbhan` entry point, `tools.cli.main`). Each command group is a
module of its own (`tools.<group>_cmd`) that tests also run as `python -m tools.<group>_cmd`;
this file imports none of them at import time, since runpy warns (on stderr, before the
command's own output) and runs a module twice when its package already imported it.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run `gbhan` with `argv` (default: the process's arguments); returns the exit code."""
    from .cli import main as cli_main

    return cli_main(argv)
