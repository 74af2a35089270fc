"""Fixtures for the HAN tests: a simulated clock, a medium, a formed network, tshark."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for path in (REPO, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from han_helpers import require_tshark  # noqa: E402


@pytest.fixture(scope="session")
def tshark() -> str:
    """The tshark binary; missing tshark fails the test (CI installs it), never skips it."""
    return require_tshark()
