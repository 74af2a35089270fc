import pytest

from emulator.devices.keys import PremisesKeys


@pytest.fixture(scope="session")
def keys():
    """The RTDS keystore plus a generated test PKI for the devices (shared: it is slow-ish)."""
    return PremisesKeys.open()
