"""Paths to the shared DUIS test data, and the users of the DCC Boxed keystore."""

from emulator import data

SHARED = data.root()
DUIS = SHARED / "duis"
SCHEMA = DUIS / "schema"
RESPONSES = DUIS / "responses"
CERTS = RESPONSES / "certs"
DCCBOXED = SHARED / "keystore" / "dccboxed-keystore.json"
RTDS = SHARED / "rtds" / "RTDS-4.5.0"
TEMPLATES = sorted(DUIS.glob("*_REQUEST_DUIS.XML"))

SUPPLIER = "90B3D51F30010000"  # the templates' originator; XML-signing cert OU 87
NETWORK_OPERATOR = "90B3D51F30020000"  # the DNO; XML-signing cert OU 87
DSP = "90B3D51F30000002"  # the DSP's XML-signing cert, OU 89
