"""The device link: one interface every HAN node implementation sits behind.

The medium only needs three things from a node: its EUI-64, a way to hand it received frames,
and the node sending frames through the medium. ``HanNodeLink`` fixes that contract, plus the
join procedure every node runs (the part a real radio such as an XBee does by itself), so a
switch can be an in-process Python model (:class:`InProcessNode`) or the real firmware on a
virtual board behind the XBee stand-in, and the meter, the hub and the tests cannot tell.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation as f

from emulator.errors import EmulatorError

from . import aps, security, zcl, zdo
from .medium import (
    PROFILE_SMART_ENERGY,
    PROFILE_ZDO,
    DeliveryStatus,
    Medium,
    NodeState,
    packet_to,
    source_nwk,
)

LOGGER = logging.getLogger(__name__)

#: Device_annce capability: full-function device, mains powered, rx on when idle, allocate addr.
ROUTER_CAPABILITY = 0x8E
DEFAULT_REQUEST_TIMEOUT_S = 5.0


class JoinError(EmulatorError):
    """The node could not join: refused by the trust centre, or it could not decrypt the key."""


class RequestError(EmulatorError):
    """A request was not delivered, or no response arrived in time."""


def make_node_descriptor(
    logical_type: zdo_t.LogicalType = zdo_t.LogicalType.Router,
    manufacturer_code: int = 0x1234,
    band: zdo_t.FrequencyBand = zdo_t.FrequencyBand.Freq2400MHz,
) -> zdo_t.NodeDescriptor:
    flags = zdo_t.NodeDescriptor.MACCapabilityFlags
    mac_flags = flags.MainsPowered | flags.RxOnWhenIdle | flags.AllocateAddress
    if logical_type != zdo_t.LogicalType.EndDevice:
        mac_flags |= flags.FullFunctionDevice
    if logical_type == zdo_t.LogicalType.Coordinator:
        mac_flags |= flags.AlternatePanCoordinator
    return zdo_t.NodeDescriptor(
        logical_type=logical_type,
        complex_descriptor_available=0,
        user_descriptor_available=0,
        reserved=0,
        aps_flags=0,
        frequency_band=band,
        mac_capability_flags=mac_flags,
        manufacturer_code=manufacturer_code,
        maximum_buffer_size=82,
        maximum_incoming_transfer_size=128,
        server_mask=0,
        maximum_outgoing_transfer_size=128,
        descriptor_capability_field=0,
    )


class HanNodeLink(abc.ABC):
    """A node on the HAN, whatever implements it (Python model, firmware behind a radio)."""

    def __init__(self, ieee: t.EUI64 | str, link_key: bytes, medium: Medium) -> None:
        self.ieee = t.EUI64.convert(ieee) if isinstance(ieee, str) else t.EUI64(ieee)
        self.link_key = bytes(link_key)
        self.medium = medium
        self.state: NodeState = medium.add_node(self.ieee, self._on_air_receive)
        self.stats: collections.Counter = collections.Counter()

    @property
    def nwk(self) -> t.NWK | None:
        return self.state.nwk

    @property
    def joined(self) -> bool:
        return self.state.joined

    # -- joining (the radio's job) ------------------------------------------------------------

    def accept_transport_key(self, aps_frame: bytes) -> None:
        """Decrypt the trust centre's Transport Key with our own link key; raises JoinError."""
        try:
            network_key, key_seq = aps.decode_transport_key(aps_frame, self.link_key)
        except (security.SecurityError, ValueError) as exc:
            self.stats["join_key_rejected"] += 1
            raise JoinError(f"{self.ieee}: Transport Key not accepted: {exc}") from exc
        self.state.network_key = network_key
        self.state.key_seq = key_seq

    async def announce(self) -> None:
        """Device_annce after joining, so the coordinator and others learn NWK <-> IEEE."""
        frame = zdo.encode(
            zdo_t.ZDOCmd.Device_annce, self.next_tsn(), self.nwk, self.ieee, ROUTER_CAPABILITY
        )
        await self.send(
            packet_to(
                0xFFFD,
                zdo.ZDO_ENDPOINT,
                zdo_t.ZDOCmd.Device_annce,
                frame,
                src_ep=0,
                profile_id=PROFILE_ZDO,
                ack=False,
            )
        )

    # -- the contract ---------------------------------------------------------------------------

    async def send(self, packet: t.ZigbeePacket) -> DeliveryStatus:
        """Send a frame from this node through the medium."""
        return await self.medium.send(self.ieee, packet)

    def _on_air_receive(self, packet: t.ZigbeePacket) -> None:
        self.deliver(packet)

    @abc.abstractmethod
    def deliver(self, packet: t.ZigbeePacket) -> None:
        """A frame for this node arrived; must not block or raise."""

    @abc.abstractmethod
    def next_tsn(self) -> int:
        """The next ZCL/ZDO transaction sequence number of this node."""


@dataclass(frozen=True, slots=True)
class _Pending:
    future: asyncio.Future
    expect_from_server: bool | None  # ZCL response direction; None for ZDO


ZclHandler = Callable[[t.ZigbeePacket], None]

#: Global commands that answer a request. Report Attributes (0x0A) is not among them: a
#: device's unsolicited report can carry the same TSN as our request by coincidence.
GLOBAL_RESPONSES = frozenset(
    {
        f.GeneralCommand.Read_Attributes_rsp,
        f.GeneralCommand.Write_Attributes_rsp,
        f.GeneralCommand.Configure_Reporting_rsp,
        f.GeneralCommand.Read_Reporting_Configuration_rsp,
        f.GeneralCommand.Default_Response,
        f.GeneralCommand.Discover_Attributes_rsp,
        f.GeneralCommand.Discover_Commands_Received_rsp,
        f.GeneralCommand.Discover_Commands_Generated_rsp,
        f.GeneralCommand.Discover_Attribute_Extended_rsp,
    }
)


#: Cluster commands (cluster, sent by the server?, command id) a device sends on its own
#: initiative, so never the answer to our request even when their TSN matches ours by
#: coincidence (the device counts TSNs itself): DRLC client Report Event Status and Get
#: Scheduled Events (a switch reports an event's progress while the meter waits for the
#: Default Response to its Load Control Event).
UNSOLICITED_CLUSTER_COMMANDS = frozenset({(0x0701, False, 0x00), (0x0701, False, 0x01)})


def is_response(header: zcl.HeaderInfo, cluster_id: int | None = None) -> bool:
    if not header.cluster_specific:
        return header.command_id in GLOBAL_RESPONSES
    if (cluster_id, header.from_server, header.command_id) in UNSOLICITED_CLUSTER_COMMANDS:
        return False
    return True  # a cluster-specific frame in the opposite direction (e.g. a tunnel response)


class InProcessNode(HanNodeLink):
    """A node whose application is Python in this process (device models, the coordinator).

    It answers ZDO descriptor requests itself, matches responses to its own requests by
    (peer NWK, cluster, TSN, direction) — no time-based duplicate filter, so 8-bit TSN wrap is
    harmless — and dispatches everything else to handlers registered per (endpoint, cluster).
    """

    def __init__(
        self,
        ieee: t.EUI64 | str,
        link_key: bytes,
        medium: Medium,
        endpoints: list[zdo_t.SimpleDescriptor],
        node_descriptor: zdo_t.NodeDescriptor | None = None,
    ) -> None:
        super().__init__(ieee, link_key, medium)
        self.endpoints: dict[int, zdo_t.SimpleDescriptor] = {d.endpoint: d for d in endpoints}
        self.node_descriptor = node_descriptor or make_node_descriptor()
        self.zdo = zdo.ZdoResponder(self.node_descriptor, self.endpoints)
        self._tsn = 0
        self._pending: dict[tuple[int, int, int], _Pending] = {}
        self._handlers: dict[tuple[int, int], ZclHandler] = {}
        self._zdo_handlers: dict[int, ZclHandler] = {}
        self._tasks: set[asyncio.Task] = set()

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    def on_cluster(self, endpoint: int, cluster_id: int, handler: ZclHandler) -> None:
        """Handle ZCL frames (not responses to our own requests) for one endpoint's cluster."""
        self._handlers[(endpoint, cluster_id)] = handler

    def on_zdo(self, cluster_id: int, handler: ZclHandler) -> None:
        """Handle a ZDO cluster the built-in responder does not answer (e.g. Device_annce)."""
        self._zdo_handlers[cluster_id] = handler

    def spawn(self, coro) -> asyncio.Task:
        """Run a coroutine in the background, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats["task_errors"] += 1
            LOGGER.error("%s: background task failed", self.ieee, exc_info=task.exception())

    async def request(
        self,
        dst_nwk: int,
        dst_ep: int,
        cluster_id: int,
        data: bytes,
        *,
        src_ep: int = 1,
        profile_id: int = PROFILE_SMART_ENERGY,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        aps_encryption: bool = False,
    ) -> t.ZigbeePacket:
        """Send a ZCL or ZDO request and await its response (ZCL: opposite direction, same TSN)."""
        if profile_id == PROFILE_ZDO:
            key = (dst_nwk, cluster_id | 0x8000, data[0])
            expect = None
        else:
            header = zcl.peek_header(data)
            key = (dst_nwk, cluster_id, header.tsn)
            expect = not header.from_server
        if key in self._pending:
            raise RequestError(f"a request with key {key} is already outstanding")
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = _Pending(future, expect)
        try:
            status = await self.send(
                packet_to(
                    dst_nwk,
                    dst_ep,
                    cluster_id,
                    data,
                    src_ep=src_ep,
                    profile_id=profile_id,
                    aps_encryption=aps_encryption,
                )
            )
            if status is not DeliveryStatus.SUCCESS:
                raise RequestError(f"delivery to 0x{dst_nwk:04X} failed: {status.value}")
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError as exc:
            raise RequestError(f"no response from 0x{dst_nwk:04X} for {key}") from exc
        finally:
            self._pending.pop(key, None)

    async def reply(self, to: t.ZigbeePacket, data: bytes, *, ack: bool = True) -> DeliveryStatus:
        """Answer a received frame from the endpoint it was addressed to, secured as it was."""
        secured = t.TransmitOptions.APS_Encryption in t.TransmitOptions(to.tx_options)
        return await self.send(
            packet_to(
                source_nwk(to),
                int(to.src_ep or 0),  # the medium sets both endpoints
                to.cluster_id,
                data,
                src_ep=int(to.dst_ep or 0),
                profile_id=to.profile_id,
                ack=ack,
                aps_encryption=secured,
            )
        )

    def deliver(self, packet: t.ZigbeePacket) -> None:
        data = bytes(packet.data.serialize())
        if not data:
            self.stats["rx_rejected_empty"] += 1
            return
        src = source_nwk(packet)
        if packet.profile_id == PROFILE_ZDO:
            self._deliver_zdo(src, packet, data)
            return
        try:
            header = zcl.peek_header(data)
        except zcl.ZclDecodeError:
            self.stats["rx_rejected_malformed_zcl"] += 1
            LOGGER.info("%s: malformed ZCL frame from 0x%04X: %s", self.ieee, src, data.hex())
            return
        pending = self._pending.get((src, packet.cluster_id, header.tsn))
        from_server = header.from_server
        if (
            pending is not None
            and pending.expect_from_server == from_server
            and is_response(header, packet.cluster_id)
        ):
            if not pending.future.done():
                pending.future.set_result(packet)
            self.stats["rx_responses"] += 1
            return
        handler = self._handlers.get((int(packet.dst_ep or 0), packet.cluster_id))
        if handler is None:
            self.stats["rx_unhandled"] += 1
            if not header.disable_default_response and not (
                not header.cluster_specific
                and header.command_id == f.GeneralCommand.Default_Response
            ):
                self.spawn(self._unsupported(packet, header, from_server))
            return
        self.stats["rx_requests"] += 1
        handler(packet)

    async def _unsupported(self, packet, header: zcl.HeaderInfo, from_server: bool) -> None:
        frame = zcl.default_response(
            header.tsn,
            header.command_id,
            f.Status.UNSUP_CLUSTER_COMMAND,
            from_server=not from_server,
        )
        await self.reply(packet, frame)

    def _deliver_zdo(self, src: int, packet: t.ZigbeePacket, data: bytes) -> None:
        if packet.cluster_id & 0x8000:
            pending = self._pending.get((src, packet.cluster_id, data[0]))
            if pending is not None and not pending.future.done():
                pending.future.set_result(packet)
                self.stats["rx_responses"] += 1
                return
        handler = self._zdo_handlers.get(packet.cluster_id)
        if handler is not None:
            handler(packet)
            return
        if self.nwk is None:
            self.stats["rx_rejected_not_joined"] += 1
            return
        try:
            answer = self.zdo.answer(int(self.nwk), packet.cluster_id, data)
        except (ValueError, KeyError):
            self.stats["rx_rejected_malformed_zdo"] += 1
            return
        if answer is None:
            self.stats["rx_unhandled_zdo"] += 1
            return
        cluster, frame = answer
        self.spawn(
            self.send(packet_to(src, 0, cluster, frame, src_ep=0, profile_id=PROFILE_ZDO, ack=True))
        )
