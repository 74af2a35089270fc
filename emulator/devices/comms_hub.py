"""The Comms Hub model: the HAN's coordinator and trust centre, its device log, and GBCS
routing between the WAN side and the devices over ZigBee tunnelling (GB-HRGP).

Routing: the hub reads the business target of a GBCS message (grouping header) and sends the
message to that device in a Tunnelling Transfer Data frame (APS-secured with the device's
link key); the device's answer comes back the same way. A message for a device that is not
in the device log is refused (`unknown-target`). Tunnel establishment (Request Tunnel) and
transfer fragmentation are not modelled: one Transfer Data frame per GBCS message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

import zigpy.types as t

from emulator.errors import EmulatorError
from emulator.han import se_clusters as se
from emulator.han import zcl
from emulator.han.link import HanNodeLink, InProcessNode
from emulator.han.medium import DeliveryStatus, Medium, packet_to, source_nwk
from emulator.han.network import CommsHubCoordinator

from .outcomes import RejectReason

LOGGER = logging.getLogger(__name__)
TUNNEL_CLUSTER = se.Tunneling.cluster_id
TUNNEL_ID = 1

#: GBCS device types (primer 8.5)
DEVICE_TYPES = {0: "GSME", 1: "ESME", 2: "CHF", 3: "GPF", 4: "HCALCS", 5: "PPMID", 6: "Type 2"}


#: a Transfer Data the medium did not deliver, by its DeliveryStatus
TUNNEL_FAILURES = {
    DeliveryStatus.NO_ACK: RejectReason.TUNNEL_NO_ACK,
    DeliveryStatus.NOT_JOINED: RejectReason.TUNNEL_NOT_JOINED,
    DeliveryStatus.NO_ROUTE: RejectReason.TUNNEL_NO_ROUTE,
    DeliveryStatus.NO_LINK_KEY: RejectReason.TUNNEL_NO_LINK_KEY,
}


class RoutingError(EmulatorError):
    """The hub cannot carry a GBCS message to or from a device: `reason` says why."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass
class DeviceRecord:
    eui: bytes
    device_type: str
    node: HanNodeLink


class CommsHub:
    """A Comms Hub model on one HAN (it forms the medium's network)."""

    def __init__(self, eui: bytes, medium: Medium) -> None:
        self.eui = bytes(eui)
        self.coordinator = CommsHubCoordinator(_ieee(eui), medium)
        self.coordinator.on_cluster(1, TUNNEL_CLUSTER, self._tunnel_in)
        self.devices: dict[bytes, DeviceRecord] = {}
        self.stats: Counter = Counter()
        self._inbox: dict[int, asyncio.Queue] = {}

    def form(self) -> None:
        self.coordinator.form()
        self.coordinator.permit_joining(3600)

    async def add_device(self, node: HanNodeLink, device_type: str, install_code: bytes) -> None:
        """CCS01 and the join: the device log entry, then the device joins the HAN."""
        self.coordinator.device_log.add(node.ieee, install_code, device_type)
        await self.coordinator.admit(node)
        eui = bytes.fromhex(str(node.ieee).replace(":", ""))
        self.devices[eui] = DeviceRecord(eui, device_type, node)

    def remove_device(self, eui: bytes) -> None:
        """CCS02 / an unjoin: off the device log and the network."""
        record = self.devices.pop(bytes(eui), None)
        if record is not None:
            self.coordinator.remove_device(record.node)

    @property
    def device_ids(self) -> dict[str, str]:
        return {eui.hex().upper(): rec.device_type for eui, rec in self.devices.items()}

    def route(self, target: bytes) -> DeviceRecord:
        record = self.devices.get(bytes(target))
        if record is None:
            self.stats["refused:unknown-target"] += 1
            raise RoutingError(RejectReason.UNKNOWN_TARGET)
        return record

    async def send_to(self, record: DeviceRecord, gbcs: bytes) -> None:
        """Tunnel a GBCS message to a device (Transfer Data, server to client)."""
        frame = zcl.cluster_command(
            se.Tunneling,
            "transfer_data",
            self.coordinator.next_tsn(),
            from_server=True,
            want_default_response=False,
            tunnel_id=TUNNEL_ID,
            data=t.Bytes(gbcs),
        )
        nwk = nwk_of(record.node)
        self._inbox.setdefault(nwk, asyncio.Queue())
        status = await self.coordinator.send(
            packet_to(nwk, 1, TUNNEL_CLUSTER, frame, aps_encryption=True)
        )
        if status is not DeliveryStatus.SUCCESS:
            self.stats["tunnel:undelivered"] += 1
            raise RoutingError(TUNNEL_FAILURES[status])
        self.stats["tunnel:to-device"] += 1

    async def receive_from(self, record: DeviceRecord, timeout: float) -> bytes:
        """The next GBCS message the device tunnelled to us."""
        queue = self._inbox.setdefault(nwk_of(record.node), asyncio.Queue())
        try:
            async with asyncio.timeout(timeout):
                return await queue.get()
        except TimeoutError:
            raise RoutingError(RejectReason.NO_RESPONSE) from None

    def _tunnel_in(self, packet: t.ZigbeePacket) -> None:
        try:
            frame = zcl.parse(se.Tunneling, bytes(packet.data.serialize()))
        except zcl.ZclDecodeError:
            self.stats["tunnel:malformed"] += 1
            return
        if frame.name != "transfer_data":
            self.stats["tunnel:ignored"] += 1
            return
        self.stats["tunnel:from-device"] += 1
        src = source_nwk(packet)
        self._inbox.setdefault(src, asyncio.Queue()).put_nowait(bytes(frame.command.data))


def tunnel_reply(node: InProcessNode, to: t.ZigbeePacket, gbcs: bytes) -> None:
    """A device answers through the tunnel (Transfer Data, client to server)."""
    frame = zcl.cluster_command(
        se.Tunneling,
        "transfer_data",
        node.next_tsn(),
        from_server=False,
        want_default_response=False,
        tunnel_id=TUNNEL_ID,
        data=t.Bytes(gbcs),
    )
    node.spawn(node.reply(to, frame))


def parse_tunnel_data(data: bytes) -> bytes | None:
    """The GBCS bytes of a Transfer Data frame to a device, None for anything else."""
    try:
        frame = zcl.parse(se.Tunneling, data)
    except zcl.ZclDecodeError:
        return None
    return bytes(frame.command.data) if frame.name == "transfer_data" else None


def nwk_of(node: HanNodeLink) -> int:
    """The NWK address of a node on the HAN; RoutingError(unknown-target) if it has none (it
    has not joined, or has left)."""
    nwk = node.nwk
    if nwk is None:
        raise RoutingError(RejectReason.UNKNOWN_TARGET)
    return int(nwk)


def _ieee(eui: bytes) -> str:
    return ":".join(f"{b:02x}" for b in bytes(eui))
