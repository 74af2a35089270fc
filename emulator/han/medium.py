"""The virtual radio medium: who is on the network, and how frames travel between nodes.

One hop, every node hears every other (a star around the Comms Hub is what a GB HAN is in
practice). Per link: latency, loss and duplication drawn from a seeded RNG, so a run is
reproducible. The medium does what the radio stack would: NWK frame counters and replay
rejection, APS counters, APS acknowledgements with retries, APS duplicate rejection, delivery
on the emulator's clock, and a capture of every frame on the air. The unit exchanged with
node implementations is ``zigpy.types.ZigbeePacket``.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import zigpy.types as t

from emulator.clock import Clock
from emulator.errors import EmulatorError

from . import aps, mac, nwk

LOGGER = logging.getLogger(__name__)

PROFILE_ZDO = 0x0000
PROFILE_SMART_ENERGY = 0x0109
COORDINATOR_NWK = 0x0000

#: apscMaxFrameRetries and a non-sleepy apsAckWaitDuration.
APS_MAX_FRAME_RETRIES = 3
APS_ACK_WAIT_S = 1.6
#: A repeated APS counter from the same source inside this window is a duplicate. It must
#: outlast the sender's whole retry span, or a late retransmission is taken for a new frame.
APS_DUPLICATE_TIMEOUT_S = (1 + APS_MAX_FRAME_RETRIES) * APS_ACK_WAIT_S + 1.0
#: Only the most recent counters of a source count as duplicates, so 8-bit wrap-around is safe.
APS_DUPLICATE_WINDOW = 32
#: A radio sends one frame after another, so on one link a later frame never lands first; frames
#: handed over at one instant (a held simulated clock stands still) land this far apart, in order.
IN_ORDER_GAP_S = 1e-6

PacketReceiver = Callable[[t.ZigbeePacket], None]


class DeliveryStatus(enum.Enum):
    SUCCESS = "success"  # acknowledged (unicast with ack) or handed to the air (broadcast/no ack)
    NO_ACK = "no_ack"  # every retry went unacknowledged
    NOT_JOINED = "not_joined"  # the sender has no network key
    NO_ROUTE = "no_route"  # no node has that NWK address
    NO_LINK_KEY = "no_link_key"  # APS encryption asked for, and the pair shares no link key


class MediumError(EmulatorError):
    pass


@dataclass(slots=True)
class LinkQuality:
    latency_s: float = 0.005
    loss: float = 0.0
    duplication: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_s < 0 or not 0 <= self.loss <= 1 or not 0 <= self.duplication <= 1:
            raise ValueError(f"invalid link quality {self}")


@dataclass(eq=False)
class NodeState:
    """What the radio stack of one node knows; readable by device models and tests."""

    ieee: t.EUI64
    receiver: PacketReceiver
    nwk: t.NWK | None = None
    network_key: bytes | None = None
    key_seq: int = 0
    nwk_frame_counter: int = 0
    aps_frame_counter: int = 0  # outgoing APS security frame counter
    aps_counter: int = 0
    mac_seq: int = 0
    nwk_seq: int = 0
    #: last NWK frame counter accepted from each source IEEE
    nwk_counters_seen: dict[t.EUI64, int] = field(default_factory=dict)
    #: recent (APS counter, time) from each source NWK address
    aps_recent: dict[int, collections.deque] = field(default_factory=dict)
    stats: collections.Counter = field(default_factory=collections.Counter)

    @property
    def joined(self) -> bool:
        return self.nwk is not None and self.network_key is not None

    @property
    def ieee_le(self) -> bytes:
        return self.ieee.serialize()

    @property
    def short_address(self) -> int:
        """`nwk` as an int, for a node that has one (MediumError before it joins)."""
        if self.nwk is None:
            raise MediumError(f"{self.ieee} has no network address")
        return int(self.nwk)

    def next_aps_counter(self) -> int:
        self.aps_counter = (self.aps_counter + 1) & 0xFF
        return self.aps_counter


class Medium:
    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        pan_id: int = 0x1A62,
        channel: int = 15,
        default_link: LinkQuality | None = None,
        capture=None,
    ) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.pan_id = pan_id
        self.channel = channel
        self.default_link = default_link or LinkQuality()
        self.capture = capture
        self._links: dict[frozenset, LinkQuality] = {}
        self._link_keys: dict[frozenset, bytes] = {}
        self._by_ieee: dict[t.EUI64, NodeState] = {}
        self._by_nwk: dict[int, NodeState] = {}
        self._pending_acks: dict[tuple[int, int, int], asyncio.Future] = {}
        self._last_arrival: dict[tuple[t.EUI64, t.EUI64], float] = {}
        self.stats: collections.Counter = collections.Counter()

    # -- membership -------------------------------------------------------------------------

    def add_node(self, ieee: t.EUI64, receiver: PacketReceiver) -> NodeState:
        """A radio within range; it hears nothing until it has joined (or formed) the network."""
        if ieee in self._by_ieee:
            raise MediumError(f"{ieee} is already on the medium")
        node = NodeState(ieee=t.EUI64(ieee), receiver=receiver)
        self._by_ieee[node.ieee] = node
        return node

    def remove_node(self, ieee: t.EUI64) -> None:
        node = self._by_ieee.pop(ieee)
        if node.nwk is not None:
            self._by_nwk.pop(node.nwk, None)

    def node(self, ieee: t.EUI64) -> NodeState:
        return self._by_ieee[ieee]

    def find(self, ieee: t.EUI64) -> NodeState | None:
        return self._by_ieee.get(ieee)

    def node_by_nwk(self, nwk_addr: int) -> NodeState | None:
        return self._by_nwk.get(nwk_addr)

    @property
    def nodes(self) -> list[NodeState]:
        return list(self._by_ieee.values())

    def assign_address(self, node: NodeState, nwk_addr: int) -> None:
        if nwk_addr in self._by_nwk and self._by_nwk[nwk_addr] is not node:
            raise MediumError(f"NWK address 0x{nwk_addr:04X} already in use")
        node.nwk = t.NWK(nwk_addr)
        self._by_nwk[nwk_addr] = node

    def free_address(self) -> int:
        """A random unused stochastic address (ZigBee PRO style), from the seeded RNG."""
        while True:
            candidate = self.rng.randrange(0x0001, 0xFFF8)
            if candidate not in self._by_nwk:
                return candidate

    def leave(self, node: NodeState) -> None:
        if node.nwk is not None:
            self._by_nwk.pop(node.nwk, None)
        node.nwk = None
        node.network_key = None

    # -- links ------------------------------------------------------------------------------

    def set_link(self, a: t.EUI64, b: t.EUI64, quality: LinkQuality) -> None:
        self._links[frozenset((a, b))] = quality

    def link(self, a: t.EUI64, b: t.EUI64) -> LinkQuality:
        return self._links.get(frozenset((a, b)), self.default_link)

    def set_link_key(self, a: t.EUI64, b: t.EUI64, key: bytes) -> None:
        """The APS link key two nodes share (trust centre link key, or a partner link key)."""
        self._link_keys[frozenset((a, b))] = bytes(key)
        if self.capture is not None:
            self.capture.add_key(f"link key {a}-{b}", key)

    def link_key(self, a: t.EUI64, b: t.EUI64) -> bytes | None:
        return self._link_keys.get(frozenset((a, b)))

    # -- sending ----------------------------------------------------------------------------

    async def send(self, src_ieee: t.EUI64, packet: t.ZigbeePacket) -> DeliveryStatus:
        """Send an APS data frame from a joined node; unicast with ACK waits for the APS ack."""
        sender = self._by_ieee[src_ieee]
        if not sender.joined:
            sender.stats["tx_refused_not_joined"] += 1
            return DeliveryStatus.NOT_JOINED
        if packet.dst is None:
            raise MediumError("a packet to send names its destination (packet.dst)")
        # the address mode says which of zigpy's address types `address` holds
        dst_mode, address = packet.dst.addr_mode, packet.dst.address
        if dst_mode == t.AddrMode.IEEE:
            target = self._by_ieee.get(cast(t.EUI64, address))
            if target is None or target.nwk is None:
                sender.stats["tx_no_route"] += 1
                return DeliveryStatus.NO_ROUTE
            dst_nwk = int(target.nwk)
        elif dst_mode in (t.AddrMode.NWK, t.AddrMode.Broadcast):
            dst_nwk = int(cast(t.NWK, address))
        else:  # group addressing is not modelled
            sender.stats["tx_unsupported_address_mode"] += 1
            LOGGER.warning("%s: unsupported destination mode %r", sender.ieee, dst_mode)
            return DeliveryStatus.NO_ROUTE
        broadcast = dst_nwk >= 0xFFF8
        if not broadcast and dst_nwk not in self._by_nwk:
            sender.stats["tx_no_route"] += 1
            return DeliveryStatus.NO_ROUTE
        options = t.TransmitOptions(packet.tx_options)
        wants_ack = not broadcast and t.TransmitOptions.ACK in options
        link_key = None
        if t.TransmitOptions.APS_Encryption in options:
            peer = None if broadcast else self._by_nwk[dst_nwk]
            link_key = self.link_key(sender.ieee, peer.ieee) if peer is not None else None
            if link_key is None:
                sender.stats["tx_no_link_key"] += 1
                return DeliveryStatus.NO_LINK_KEY
        frame = aps.ApsData(
            dst_ep=packet.dst_ep if packet.dst_ep is not None else 0,
            cluster_id=packet.cluster_id,
            profile_id=packet.profile_id,
            src_ep=packet.src_ep if packet.src_ep is not None else 0,
            counter=sender.next_aps_counter(),
            payload=bytes(packet.data.serialize()),
            ack_request=wants_ack,
            broadcast=broadcast,
        )
        sender.stats["tx_frames"] += 1
        if not wants_ack:
            self._transmit(sender, dst_nwk, frame, link_key)
            return DeliveryStatus.SUCCESS
        key = (sender.short_address, dst_nwk, frame.counter)
        for _attempt in range(1 + APS_MAX_FRAME_RETRIES):
            ack = asyncio.get_running_loop().create_future()
            self._pending_acks[key] = ack
            self._transmit(sender, dst_nwk, frame, link_key)
            try:
                await asyncio.wait_for(asyncio.shield(ack), APS_ACK_WAIT_S)
                return DeliveryStatus.SUCCESS
            except TimeoutError:
                sender.stats["aps_retries"] += 1
            finally:
                self._pending_acks.pop(key, None)
        sender.stats["tx_no_ack"] += 1
        LOGGER.info("no APS ack from 0x%04X for counter %d", dst_nwk, frame.counter)
        return DeliveryStatus.NO_ACK

    def _air_time_copies(self, sender: NodeState, receiver: NodeState) -> list[float]:
        """Delays at which copies of one transmission arrive at ``receiver`` (empty if lost)."""
        quality = self.link(sender.ieee, receiver.ieee)
        if self.rng.random() < quality.loss:
            return []
        delays = [quality.latency_s]
        if self.rng.random() < quality.duplication:
            delays.append(quality.latency_s * 1.5 + 0.001)
        return delays

    def _next_nwk(self, sender: NodeState) -> tuple[int, int, int]:
        sender.nwk_frame_counter += 1
        sender.nwk_seq = (sender.nwk_seq + 1) & 0xFF
        sender.mac_seq = (sender.mac_seq + 1) & 0xFF
        return sender.nwk_frame_counter, sender.nwk_seq, sender.mac_seq

    def _transmit(
        self, sender: NodeState, dst_nwk: int, frame: aps.ApsData, link_key: bytes | None = None
    ) -> None:
        """One transmission of a data frame: capture it, then schedule each copy's arrival.

        An APS-secured frame gets a fresh APS security frame counter on every transmission,
        retries included, as its nonce must never repeat.
        """
        counter, nwk_seq, mac_seq = self._next_nwk(sender)
        self.stats["air_frames"] += 1
        if link_key is not None:
            sender.aps_frame_counter += 1
        if self.capture is not None:
            aps_bytes = aps.encode_data(frame, link_key, sender.aps_frame_counter, sender.ieee_le)
            self._capture_nwk(sender, dst_nwk, aps_bytes, counter, nwk_seq, mac_seq)
        if dst_nwk >= 0xFFF8:
            receivers = [n for n in self._by_nwk.values() if n is not sender]
        else:
            receivers = [self._by_nwk[dst_nwk]]
        for receiver in receivers:
            for delay in self._air_time_copies(sender, receiver):
                self._land(
                    sender, receiver, delay, self._arrive,
                    sender, receiver, dst_nwk, frame, counter, link_key,
                )  # fmt: skip

    def _land(self, sender: NodeState, receiver: NodeState, delay: float, callback, *args) -> None:
        """Schedule a copy's arrival ``delay`` from now, never before an earlier frame on the
        same link: asyncio does not keep timers due at one instant in the order they were set,
        and a frame overtaken by its sender's next is rejected as a NWK replay."""
        now = self.clock.now()
        link = (sender.ieee, receiver.ieee)
        at = max(now + delay, self._last_arrival.get(link, now) + IN_ORDER_GAP_S)
        self._last_arrival[link] = at
        self.clock.call_later(at - now, callback, *args)

    def _capture_nwk(self, sender, dst_nwk, aps_bytes, counter, nwk_seq, mac_seq) -> None:
        nwk_bytes = nwk.encode(
            nwk.NwkFrame(
                dst=dst_nwk,
                src=int(sender.nwk),
                seq=nwk_seq,
                payload=aps_bytes,
                src_ieee_le=sender.ieee_le,
                frame_counter=counter,
                key_seq=sender.key_seq,
            ),
            sender.network_key,
        )
        mac_dst = mac.BROADCAST_SHORT if dst_nwk >= 0xFFF8 else dst_nwk
        self.capture.write(
            mac.data_frame(mac_seq, self.pan_id, mac_dst, int(sender.nwk), nwk_bytes)
        )

    # -- receiving --------------------------------------------------------------------------

    def _reject(self, node: NodeState, reason: str, detail: str = "") -> None:
        node.stats[f"rx_rejected_{reason}"] += 1
        self.stats[f"rx_rejected_{reason}"] += 1
        LOGGER.debug("%s rejected a frame: %s %s", node.ieee, reason, detail)

    def _arrive(
        self,
        sender: NodeState,
        receiver: NodeState,
        dst_nwk: int,
        frame: aps.ApsData,
        counter: int,
        link_key: bytes | None,
    ) -> None:
        if receiver.nwk is None or self._by_ieee.get(receiver.ieee) is not receiver:
            return  # left the network (or the medium) while the frame was in flight
        if receiver.network_key is None or receiver.network_key != sender.network_key:
            self._reject(receiver, "nwk_security", "cannot decrypt with its network key")
            return
        last = receiver.nwk_counters_seen.get(sender.ieee, -1)
        if counter <= last:
            self._reject(receiver, "nwk_replay", f"counter {counter} <= {last}")
            return
        receiver.nwk_counters_seen[sender.ieee] = counter
        if link_key is not None and self.link_key(sender.ieee, receiver.ieee) != link_key:
            self._reject(receiver, "aps_security", "no matching link key")
            return
        if frame.ack_request and not frame.broadcast:
            self._send_ack(receiver, sender, frame)
        if self._is_aps_duplicate(receiver, sender.short_address, frame.counter):
            self._reject(receiver, "aps_duplicate", f"APS counter {frame.counter}")
            return
        packet = t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=sender.nwk),
            src_ep=t.uint8_t(frame.src_ep),
            dst=t.AddrModeAddress(
                addr_mode=t.AddrMode.Broadcast if frame.broadcast else t.AddrMode.NWK,
                address=t.NWK(dst_nwk),
            ),
            dst_ep=t.uint8_t(frame.dst_ep),
            # zigpy wants a TSN; only a ZDO frame's is known without parsing, and none reads it
            tsn=_zdo_tsn(frame.profile_id, frame.payload),  # type: ignore[arg-type]
            profile_id=t.uint16_t(frame.profile_id),
            cluster_id=t.uint16_t(frame.cluster_id),
            data=t.SerializableBytes(frame.payload),
            # tells the application the frame was APS-secured (XBee receive option 0x20)
            tx_options=t.TransmitOptions.APS_Encryption if link_key else t.TransmitOptions.NONE,
            lqi=t.uint8_t(255),
            rssi=t.int8s(-40),
        )
        receiver.stats["rx_frames"] += 1
        try:
            receiver.receiver(packet)
        except Exception:  # a node model's bug must not take the network down
            self._reject(receiver, "handler_error")
            LOGGER.exception("node %s failed to handle a frame", receiver.ieee)

    def _is_aps_duplicate(self, receiver: NodeState, src_nwk: int, aps_counter: int) -> bool:
        now = self.clock.now()
        recent = receiver.aps_recent.setdefault(
            src_nwk, collections.deque(maxlen=APS_DUPLICATE_WINDOW)
        )
        for seen_counter, seen_at in recent:
            if seen_counter == aps_counter and now - seen_at < APS_DUPLICATE_TIMEOUT_S:
                return True
        recent.append((aps_counter, now))
        return False

    def _send_ack(self, acker: NodeState, original_sender: NodeState, frame: aps.ApsData) -> None:
        counter, nwk_seq, mac_seq = self._next_nwk(acker)
        self.stats["air_frames"] += 1
        if self.capture is not None:
            self._capture_nwk(
                acker, original_sender.short_address, aps.encode_ack(frame), counter, nwk_seq,
                mac_seq,
            )  # fmt: skip
        key = (original_sender.short_address, acker.short_address, frame.counter)
        for delay in self._air_time_copies(acker, original_sender):
            self._land(acker, original_sender, delay, self._ack_arrives, key)

    def _ack_arrives(self, key) -> None:
        pending = self._pending_acks.get(key)
        if pending is not None and not pending.done():
            pending.set_result(None)

    # -- unsecured NWK frames during joining -------------------------------------------------

    def transmit_unsecured(self, sender: NodeState, dst_nwk: int, aps_bytes: bytes) -> float:
        """A NWK-unsecured frame (the Transport Key to a joiner); returns its air latency."""
        counter, nwk_seq, mac_seq = self._next_nwk(sender)
        self.stats["air_frames"] += 1
        if self.capture is not None:
            nwk_bytes = nwk.encode(
                nwk.NwkFrame(
                    dst=dst_nwk,
                    src=sender.short_address,
                    seq=nwk_seq,
                    payload=aps_bytes,
                    src_ieee_le=sender.ieee_le,
                    secured=False,
                ),
                None,
            )
            self.capture.write(
                mac.data_frame(mac_seq, self.pan_id, dst_nwk, sender.short_address, nwk_bytes)
            )
        receiver = self._by_nwk.get(dst_nwk)
        return self.link(sender.ieee, receiver.ieee).latency_s if receiver else 0.0


def _zdo_tsn(profile_id: int, data: bytes) -> int | None:
    """A ZDO frame's TSN (its first byte); None for the rest."""
    return data[0] if profile_id == PROFILE_ZDO and data else None


def source_nwk(packet: t.ZigbeePacket) -> int:
    """The NWK address a packet from the medium came from: the medium always sets `src`, in
    NWK address mode (zigpy's annotation allows None, for packets still to be sent)."""
    if packet.src is None:
        raise MediumError("a received packet names its source address")
    return int(cast(t.NWK, packet.src.address))


def packet_to(
    dst_nwk: int,
    dst_ep: int,
    cluster_id: int,
    data: bytes,
    *,
    src_ep: int = 1,
    profile_id: int = PROFILE_SMART_ENERGY,
    ack: bool = True,
    aps_encryption: bool = False,
) -> t.ZigbeePacket:
    """A ZigbeePacket for :meth:`Medium.send`, with the fields the medium reads."""
    mode = t.AddrMode.Broadcast if dst_nwk >= 0xFFF8 else t.AddrMode.NWK
    return t.ZigbeePacket(
        src=None,
        src_ep=t.uint8_t(src_ep),
        dst=t.AddrModeAddress(addr_mode=mode, address=t.NWK(dst_nwk)),
        dst_ep=t.uint8_t(dst_ep),
        tsn=_zdo_tsn(profile_id, data),  # type: ignore[arg-type]  # as in Medium._arrive
        profile_id=t.uint16_t(profile_id),
        cluster_id=t.uint16_t(cluster_id),
        data=t.SerializableBytes(data),
        tx_options=(t.TransmitOptions.ACK if ack else t.TransmitOptions.NONE)
        | (t.TransmitOptions.APS_Encryption if aps_encryption else t.TransmitOptions.NONE),
    )


__all__ = ["Medium", "LinkQuality", "NodeState", "DeliveryStatus", "packet_to", "source_nwk"]
