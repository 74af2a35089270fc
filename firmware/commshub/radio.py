# The coordinator's side of the XBee 3 (API mode 2, lib/xbee.py does the framing): joining
# devices are registered with the radio's trust centre by install code, and ZDO traffic the
# radio passes up (AO=3) tells the hub about joins and leaves.
#
# Digi XBee 3 Zigbee user guide: 0x24 Register Joining Device (frame id, 64-bit address,
# 0xFFFE, options bit 0 = the key is an install code, key; no key = deregister) answered by
# 0xA4 Register Joining Device Status (frame id, status, 0x00 = success).
# ZigBee ZDO: Device_annce 0x0013 (tsn, NWK LE, IEEE LE, capability); Mgmt_Leave_req 0x0034
# (tsn, IEEE LE, flags); Mgmt_Leave_rsp 0x8034 (tsn, status).
from micropython import const
import struct

from firmware.lib.xbee import FrameError

REGISTER_JOINING = const(0x24)
REGISTER_STATUS = const(0xA4)
REG_OPT_INSTALL_CODE = const(0x01)

PROFILE_ZDO = const(0x0000)
DEVICE_ANNCE = const(0x0013)
MGMT_LEAVE_REQ = const(0x0034)
MGMT_LEAVE_RSP = const(0x8034)


def reversed_bytes(b):
    out = bytearray(len(b))
    for i in range(len(b)):
        out[i] = b[len(b) - 1 - i]
    return bytes(out)


def register_joining(frame_id, eui, install_code=b""):
    """0x24 frame data; an empty install code removes the device from the radio's table."""
    options = REG_OPT_INSTALL_CODE if install_code else 0
    return struct.pack(">BB8sHB", REGISTER_JOINING, frame_id, eui, 0xFFFE, options) + install_code


def parse_register_status(frame_data):
    """(frame_id, status) of a 0xA4 frame."""
    if len(frame_data) != 3 or frame_data[0] != REGISTER_STATUS:
        raise FrameError("register status")
    return frame_data[1], frame_data[2]


def parse_device_annce(data):
    """(nwk, eui MSB first) of a Device_annce payload."""
    if len(data) != 12:
        raise FrameError("device annce")
    return struct.unpack_from("<H", data, 1)[0], reversed_bytes(data[3:11])


def mgmt_leave_req(tsn, eui):
    return bytes((tsn,)) + reversed_bytes(eui) + b"\x00"
