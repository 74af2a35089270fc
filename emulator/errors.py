"""The root of every error the emulator raises on purpose, so a caller can catch the
emulator's refusals and failures in one clause and let programming errors through.

Each package's errors derive from `EmulatorError` and, where one fits, from the built-in
they always were (``ValueError`` for bad input, ``LookupError`` for a missing thing ...), so
code that caught those still does.
"""

from __future__ import annotations

__all__ = ["EmulatorError"]


class EmulatorError(Exception):
    """Something the emulator refuses or cannot do, said in words a user can act on."""
