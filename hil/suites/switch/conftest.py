"""Every test of the switch suite starts from the same known state (see steps.fresh)."""

import pytest

from hil.suites.switch import steps


@pytest.fixture(autouse=True)
def switch(dut, han):
    steps.fresh(dut, han)
    return dut
