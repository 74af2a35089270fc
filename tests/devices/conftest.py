import pytest

from emulator.devices.keys import NETWORK_OPERATOR, SUPPLIER, PremisesKeys
from gbcs.roles import ACB_EUI, Role

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")


@pytest.fixture(scope="session")
def keys():
    """The RTDS keystore plus a generated test PKI for the devices (shared: it is slow-ish)."""
    return PremisesKeys.open()


@pytest.fixture(scope="module")
def lc_keys():
    """The RTDS anchors plus RTDS's Load Controller (as a Supplier's CS02g places it)."""
    return PremisesKeys.open(anchors={
        SUPPLIER: Role.SUPPLIER, NETWORK_OPERATOR: Role.NETWORK_OPERATOR,
        ACB_EUI: Role.ACCESS_CONTROL_BROKER, LOAD_CONTROLLER: Role.LOAD_CONTROLLER,
    })  # fmt: skip
