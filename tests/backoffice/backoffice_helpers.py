"""Paths to the DUIS test data (found by emulator.data), and the users of the DCC Boxed keystore."""

import socket

from emulator import data

DUIS = data.duis()
SCHEMA = data.duis_schema()
RESPONSES = data.duis_responses()
CERTS = RESPONSES / "certs"
DCCBOXED = data.dccboxed_keystore()
RTDS = data.rtds()
TEMPLATES = sorted(DUIS.glob("*_REQUEST_DUIS.XML"))

SUPPLIER = "90B3D51F30010000"  # the templates' originator; XML-signing cert OU 87
NETWORK_OPERATOR = "90B3D51F30020000"  # the DNO; XML-signing cert OU 87
DSP = "90B3D51F30000002"  # the DSP's XML-signing cert, OU 89


def free_port() -> int:
    """A TCP port on 127.0.0.1 no one is listening on now (for a user's endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
