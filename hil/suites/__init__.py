"""Conformance suites the rig runs (`gbhan hil run`)."""
