"""The meter's device log: the HAN devices it has joined, changed by CS03A1 (join, SRV 8.7.1)
and CS04AC (unjoin, 8.8.1 / 8.8.2), and the only devices it talks to.

A slot's switch is commanded only while its EUI is in the log: after an unjoin, ECS47 /
ECS62 / ECS61a instructions for that slot answer object_unavailable and nothing is sent to
the switch (slots.py asks the log).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from gbcs import asn1
from gbcs.message import Message

from ..outcomes import CommandRejected, RejectReason, join_entry
from .slots import SlotLink

LOGGER = logging.getLogger(__name__)

JOIN, UNJOIN = 0x000D, 0x000F  # CS03A1 (SRV 8.7.1), CS04AC (8.8.1 Supplier, 8.8.2 via ACB)
#: CS03B and CS04B (SRVs 8.7.2, 8.8.2): a Method B join and its unjoin, with no key of its own
#: (RTDS's join a GPF to the GSME); the ESME's are its Type 2 devices, an IHD or a CAD
JOIN_B, UNJOIN_B = 0x000E, 0x0010
#: device types an ESME joins as Method A initiator (GBCS: its HCALCS and PPMID partners)
JOINABLE = frozenset({"hcalcs", "ppmid"})
#: ... and by Method B (the devices that read it over the HAN: devices/type2.py)
JOINABLE_B = frozenset({"type_2"})
#: join / unjoin response codes (gbcs.asn1.JOIN_RESPONSES / UNJOIN_RESPONSES)
JOIN_OK, JOIN_BAD_METHOD, JOIN_INCOMPATIBLE, JOIN_LOG_FULL = 0, 2, 3, 4
UNJOIN_OK, UNJOIN_NOT_IN_LOG = 0, 1
#: entries the meter's device log holds (assumption: GBCS's figure is not in our sources)
DEVICE_LOG_CAPACITY = 8


class DeviceLog:
    """EUI -> GBCS device type name of every device this meter has joined."""

    def __init__(self, eui: bytes, profile: dict, stats: Counter) -> None:
        self.eui, self.stats = eui, stats
        self.entries: dict[bytes, str] = {
            bytes.fromhex(e): kind for e, kind in profile.get("device_log", {}).items()
        }

    def add(self, eui: bytes, kind: str) -> None:
        """An entry made outside a join (a switch the premises commissions in a slot)."""
        self.entries[bytes(eui)] = kind

    def answer(self, message: Message, slots: Mapping[int, SlotLink]) -> bytes:
        """Carry out a CS03A1, CS03B, CS04AC or CS04B; the response content (DER: the
        response code). CommandRejected(malformed) when the DER is not the use case's shape."""
        fields = message.payload.fields
        if fields is None:
            raise CommandRejected(RejectReason.MALFORMED)
        if message.message_code in (JOIN, JOIN_B):
            code = self.join(
                str(fields.join_method_and_role_name),
                bytes(fields.other_device_id),
                str(fields.other_device_type_name),
                method_b=message.message_code == JOIN_B,
            )
        else:
            code = self.unjoin(bytes(fields.value), slots)
        return bytes(asn1.encode_tree(asn1.integer(code)))

    def join(self, method: str, other: bytes, kind: str, *, method_b: bool = False) -> int:
        """CS03A1 (or CS03B, `method_b`): add `other` to the device log; the join response
        code."""
        allowed = ("method_b", JOINABLE_B) if method_b else ("method_a_initiator", JOINABLE)
        if method != allowed[0] or kind not in allowed[1] or len(other) != 8:
            result = JOIN_BAD_METHOD
        else:
            result = join_entry(self.entries, other, kind, DEVICE_LOG_CAPACITY)
        self.stats[f"join:{asn1.JOIN_RESPONSES[result]}"] += 1
        LOGGER.info("ESME %s join %s %s (%s): %s", self.eui.hex(), kind, other.hex(), method,
                    asn1.JOIN_RESPONSES[result])  # fmt: skip
        return result

    def unjoin(self, other: bytes, slots: Mapping[int, SlotLink]) -> int:
        """CS04AC: remove `other` from the device log; a slot bound to it is no longer
        commanded (its switch keeps whatever state it is in)."""
        if self.entries.pop(other, None) is None:
            result = UNJOIN_NOT_IN_LOG
        else:
            result = UNJOIN_OK
            for slot, link in slots.items():
                if link.eui == other:
                    LOGGER.info("ESME %s: slot %d's switch unjoined", self.eui.hex(), slot)
        self.stats[f"unjoin:{asn1.UNJOIN_RESPONSES[result]}"] += 1
        return result
