"""Conformance suites the rig runs (`gbhan hil run`)."""

from . import switch

__all__ = ["switch"]
