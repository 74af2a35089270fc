"""The root of every error the rig raises on purpose (a bad DUT address, a rig file that
does not parse, a board that does not answer, a power driver that fails)."""

from __future__ import annotations

__all__ = ["HilError"]


class HilError(Exception):
    """Something the rig refuses or cannot do, said in words a test engineer can act on."""
