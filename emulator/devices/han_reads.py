"""What a Type 2 device (an IHD, a CAD: devices/type2.py) reads over the HAN, from the
electricity meter and from the GPF: the ZigBee SE Metering cluster's CurrentSummationDelivered
(the import register: the ESME's in Wh, the GSME's as its GBZ reads give it) and the
Prepayment cluster's CreditRemaining (the ESME's meter balance plus the emergency credit in
use, in the meter balance's 10^-5 of the currency; the GSME's as it last told its GPF), each by
Read Attributes. The ESME answers on its endpoint 1; the GPF, from its mirror of the GSME, on
the Comms Hub's endpoint 2 (GPF_ENDPOINT, ours).

Only a device the answering device's log holds as a Type 2 device (a Method B join, CS03B,
put it there: a GBCS join is what lets a device read the meter) is answered; any other node,
and a device unjoined (CS04B), gets a Default Response NOT_AUTHORIZED, logged and counted. An
attribute not served is UNSUPPORTED_ATTRIBUTE; another command UNSUP_GENERAL_COMMAND. Ours
where our sources are silent: the two attributes, their units, the check by device log, the
GPF's endpoint.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import zigpy.types as t
import zigpy.zcl.foundation as f
from zigpy.zcl.clusters.smartenergy import Metering

from emulator.han import zcl
from emulator.han.link import InProcessNode
from emulator.han.medium import source_nwk

from .esme.consumption import IMPORT_REGISTERS, credit
from .esme.store import CosemStore

LOGGER = logging.getLogger(__name__)

METERING, PREPAYMENT = 0x0702, 0x0705
CURRENT_SUMMATION_DELIVERED, CREDIT_REMAINING = 0x0000, 0x0001
UINT48, INT32 = 0x25, 0x2B  # ZCL data type ids
TYPE_2 = "type_2"  # the device log's name for an IHD or a CAD


#: the Comms Hub's endpoint the GPF answers Type 2 devices' reads on (ours)
GPF_ENDPOINT = 2


def esme_values(store: CosemStore, cluster: int) -> dict[int, tuple[int, Any]]:
    """attribute id -> (ZCL type id, typed value) the ESME serves on `cluster`."""
    if cluster == METERING:
        registers = store.get(*IMPORT_REGISTERS).value
        return {CURRENT_SUMMATION_DELIVERED: (UINT48, t.uint48_t(int(registers[0].value)))}
    return {CREDIT_REMAINING: (INT32, t.int32s(credit(store)))}


def gpf_values(
    mirror: Mapping[tuple[int, int], tuple[str, Any]], cluster: int
) -> dict[int, tuple[int, Any]]:
    """The same two attributes from the GPF's mirror of the GSME (its last wake-up's)."""
    if cluster == METERING:
        _kind, value = mirror[(METERING, CURRENT_SUMMATION_DELIVERED)]
        return {CURRENT_SUMMATION_DELIVERED: (UINT48, t.uint48_t(int(value)))}
    _kind, value = mirror[(PREPAYMENT, CREDIT_REMAINING)]
    return {CREDIT_REMAINING: (INT32, t.int32s(int(value)))}


class HanReads:
    """Serves one device's readings (`values(cluster)`) on `node`'s `endpoint` to the Type 2
    devices it has joined (`joined(eui)`), counting in `stats()` (the device now there: a
    premises may replace its meter)."""

    def __init__(
        self,
        node: InProcessNode,
        endpoint: int,
        ieee_of: Callable[[int], bytes | None],
        *,
        who: str,
        joined: Callable[[bytes], bool],
        values: Callable[[int], dict[int, tuple[int, Any]]],
        stats: Callable[[], Counter],
    ) -> None:
        self.node, self.ieee_of, self.who = node, ieee_of, who
        self.joined, self.values, self.stats = joined, values, stats
        for cluster in (METERING, PREPAYMENT):
            node.on_cluster(endpoint, cluster, self._on_frame)

    def _on_frame(self, packet: Any) -> None:
        self.node.spawn(self._answer(packet))

    async def _answer(self, packet: Any) -> None:
        data = bytes(packet.data.serialize())
        header = zcl.peek_header(data)
        cluster, stats = int(packet.cluster_id), self.stats()
        if (
            header.from_server
            or header.cluster_specific
            or (header.command_id != f.GeneralCommand.Read_Attributes)
        ):
            stats["han-read:unsupported"] += 1
            await self.node.reply(packet, zcl.default_response(
                header.tsn, header.command_id, f.Status.UNSUP_GENERAL_COMMAND, from_server=True))  # fmt: skip
            return
        source = self.ieee_of(source_nwk(packet))
        if source is None or not self.joined(source):
            stats["han-read:not-authorized"] += 1
            LOGGER.info("%s: a read of cluster 0x%04X from %s, no Type 2 device it joined: "
                        "refused", self.who, cluster, source.hex() if source else "an unknown node")  # fmt: skip
            await self.node.reply(packet, zcl.default_response(
                header.tsn, header.command_id, f.Status.NOT_AUTHORIZED, from_server=True))  # fmt: skip
            return
        try:
            frame = zcl.parse(Metering, data)
            wanted = [int(a) for a in frame.command.attribute_ids]
        except zcl.ZclDecodeError:
            stats["han-read:malformed"] += 1
            return
        stats["han-read:answered"] += 1
        await self.node.reply(
            packet, zcl.read_attributes_response(header.tsn, wanted, self.values(cluster))
        )
