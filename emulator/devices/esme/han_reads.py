"""What a Type 2 device (an IHD, a CAD: devices/type2.py) reads from the meter over the HAN:
the ZigBee SE Metering cluster's CurrentSummationDelivered (the active import register, Wh)
and the Prepayment cluster's CreditRemaining (the meter balance plus the emergency credit in
use, in the meter balance's 10^-5 of the currency), each by Read Attributes.

Only a device the meter's device log holds as a Type 2 device (a Method B join, CS03B, put it
there: a GBCS join is what lets a device read the meter) is answered; any other node, and a
device unjoined (CS04B), gets a Default Response NOT_AUTHORIZED, logged and counted. An attribute the meter
does not serve is UNSUPPORTED_ATTRIBUTE; another command UNSUP_GENERAL_COMMAND. Ours where
our sources are silent: the two attributes, their units, the check by device log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import zigpy.types as t
import zigpy.zcl.foundation as f
from zigpy.zcl.clusters.smartenergy import Metering

from emulator.han import zcl
from emulator.han.link import InProcessNode
from emulator.han.medium import source_nwk

from .consumption import IMPORT_REGISTERS, credit
from .device_log import DeviceLog
from .store import CosemStore

LOGGER = logging.getLogger(__name__)

METERING, PREPAYMENT = 0x0702, 0x0705
CURRENT_SUMMATION_DELIVERED, CREDIT_REMAINING = 0x0000, 0x0001
UINT48, INT32 = 0x25, 0x2B  # ZCL data type ids
TYPE_2 = "type_2"  # the device log's name for an IHD or a CAD


class Meter(Protocol):
    store: CosemStore
    log: DeviceLog
    stats: Counter


class HanReads:
    """Serves the meter's readings to the Type 2 devices its device log holds."""

    def __init__(
        self,
        meter: Callable[[], Meter],
        node: InProcessNode,
        ieee_of: Callable[[int], bytes | None],
    ) -> None:
        #: the meter now on the node (a premises may replace it: reset_meter)
        self.meter, self.node, self.ieee_of = meter, node, ieee_of
        for cluster in (METERING, PREPAYMENT):
            node.on_cluster(1, cluster, self._on_frame)

    def values(self, cluster: int) -> dict[int, tuple[int, Any]]:
        """attribute id -> (ZCL type id, typed value) the meter serves on `cluster`."""
        store = self.meter().store
        if cluster == METERING:
            registers = store.get(*IMPORT_REGISTERS).value
            return {CURRENT_SUMMATION_DELIVERED: (UINT48, t.uint48_t(int(registers[0].value)))}
        return {CREDIT_REMAINING: (INT32, t.int32s(credit(store)))}

    def _on_frame(self, packet: Any) -> None:
        self.node.spawn(self._answer(packet))

    async def _answer(self, packet: Any) -> None:
        data = bytes(packet.data.serialize())
        header = zcl.peek_header(data)
        cluster, stats = int(packet.cluster_id), self.meter().stats
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
        if source is None or self.meter().log.entries.get(source) != TYPE_2:
            stats["han-read:not-authorized"] += 1
            LOGGER.info("ESME: a read of cluster 0x%04X from %s, no Type 2 device it joined: "
                        "refused", cluster, source.hex() if source else "an unknown node")  # fmt: skip
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
