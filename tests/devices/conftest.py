import pytest

from emulator.devices.keys import LOAD_CONTROLLER_ANCHORS, PremisesKeys


@pytest.fixture(scope="session")
def keys():
    """The RTDS keystore plus a generated test PKI for the devices (shared: it is slow-ish)."""
    return PremisesKeys.open()


@pytest.fixture(scope="module")
def lc_keys():
    """The RTDS anchors plus RTDS's Load Controller (as a Supplier's CS02g places it)."""
    return PremisesKeys.open(anchors=dict(LOAD_CONTROLLER_ANCHORS))
