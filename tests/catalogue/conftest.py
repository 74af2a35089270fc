"""Fixtures the catalogue's tests share."""

from __future__ import annotations

import pytest

from emulator.devices.keys import PremisesKeys


@pytest.fixture(scope="module")
def keys() -> PremisesKeys:
    """The premises' keys (RTDS's and DCC Boxed's keystores), one set per test file: tests
    place anchors and certificates in them."""
    return PremisesKeys.open()
