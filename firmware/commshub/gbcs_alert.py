# The hub's own Power Restoration Alert as GBCS bytes: the ECS80 layout (message code 0x0067,
# a DLMS data-notification of alert code, alert time, interruption and restoration times,
# gbcs-primer 8.3) with the hub as business originator and no signature (field 00).
#
# GBCS gives the Comms Hub no restoration alert of its own, and the firmware has no ECDSA:
# the DSP takes these bytes as the hub's word over its authenticated WAN link, never as a
# signed alert (docs/commshub.md, "The hub's own PRA").
from micropython import const
import struct

ECS80 = const(0x0067)
CRA_ALERT = const(0x03)
ALERT_RESTORED = const(0x8F35)
ALERT_RESTORED_3_MINUTES = const(0x8F36)
OUTAGE_REPORTABLE_S = const(180)  # 3 minutes: shorter interruptions are not reportable


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def civil(seconds):
    """ZigBee UTC seconds (2000 epoch) -> (year, month, day, hour, minute, second)."""
    days, rest = divmod(seconds, 86400)
    year = 2000
    while days >= (366 if _leap(year) else 365):  # at most a century of steps
        days -= 366 if _leap(year) else 365
        year += 1
    month = 1
    for length in (31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31):
        if days < length:
            break
        days -= length
        month += 1
    return year, month, days + 1, rest // 3600, rest // 60 % 60, rest % 60


def cosem_datetime(seconds):
    """The 12-byte COSEM date-time as RTDS writes it: day of week, deviation, status unset."""
    y, mo, d, h, mi, s = civil(seconds)
    return struct.pack(">HBBBBBBBHB", y, mo, d, 0xFF, h, mi, s, 0, 0x8000, 0xFF)


def ecs80(counter, originator, target, code, alert_time, interrupted, restored):
    """General-Signing APDU of an ECS80-shaped restoration alert, unsigned."""
    content = (b"\x0f" + struct.pack(">I", 0x20000000 | (counter & 0xFFFFFF)) + b"\x00\x02\x04"
               + b"\x12" + struct.pack(">H", code)
               + b"\x09\x0c" + cosem_datetime(alert_time)
               + b"\x09\x0c" + cosem_datetime(interrupted)
               + b"\x09\x0c" + cosem_datetime(restored))
    return (b"\xdf\x09" + bytes((CRA_ALERT,)) + struct.pack(">Q", counter)
            + b"\x08" + originator + b"\x08" + target
            + b"\x00\x02" + struct.pack(">H", ECS80) + bytes((len(content),)) + content + b"\x00")
