"""Remote party roles (primer 6.1): the number an organisation certificate carries in its OU."""

from enum import IntEnum


class Role(IntEnum):
    ROOT = 0
    RECOVERY = 1
    SUPPLIER = 2
    NETWORK_OPERATOR = 3
    ACCESS_CONTROL_BROKER = 4
    TRANSITIONAL_COS = 5
    WAN_PROVIDER = 6
    ISSUING_AUTHORITY = 7
    LOAD_CONTROLLER = 8
    OTHER = 127
    XML_SIGNING_USER = 135  # DUIS XMLDSig only, never GBCS
    XML_SIGNING_DCC = 137


# The Access Control Broker's EUI in RTDS and DCC Boxed, for the emulator's own DCC. The
# codec's checks never use it: they take the ACB from the keystore (Keystore.anchors).
ACB_EUI = bytes.fromhex("90B3D51F30000002")
