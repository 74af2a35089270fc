"""Network formation and joining: the Comms Hub is coordinator and trust centre, and its device
log (an allow-list of EUI-64s with install-code link keys) decides who may join.

Joining as modelled: the hub allocates a NWK address, then sends the network key in an APS
Transport Key command secured with the key-transport key derived from the link key *in its
device log*. The joiner decrypts it with the link key derived from *its own* install code, so a
device whose install code does not match the log cannot obtain the network key — the real
cryptographic gate, not a flag. MAC association (beacons, association request/response) is not
modelled; the Transport Key is the first frame of a join in the capture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import zigpy.types as t
import zigpy.zdo.types as zdo_t

from . import aps, security, zdo
from .link import HanNodeLink, InProcessNode, JoinError, make_node_descriptor
from .medium import COORDINATOR_NWK, Medium

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
KEY_ESTABLISHMENT_CLUSTER = 0x0800


@dataclass(frozen=True, slots=True)
class DeviceLogEntry:
    ieee: t.EUI64
    link_key: bytes
    device_type: str = "HCALCS"


class DeviceLog:
    """The hub's allow-list: CCS01 adds an entry with the device's install code."""

    def __init__(self) -> None:
        self._entries: dict[t.EUI64, DeviceLogEntry] = {}

    def add(self, ieee: t.EUI64 | str, install_code: bytes, device_type: str = "HCALCS") -> None:
        eui = t.EUI64.convert(ieee) if isinstance(ieee, str) else t.EUI64(ieee)
        key = security.link_key_from_install_code(install_code)
        self._entries[eui] = DeviceLogEntry(eui, key, device_type)

    def remove(self, ieee: t.EUI64) -> None:
        self._entries.pop(ieee, None)

    def get(self, ieee: t.EUI64) -> DeviceLogEntry | None:
        return self._entries.get(ieee)

    def __contains__(self, ieee: t.EUI64) -> bool:
        return ieee in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def hub_endpoints() -> list[zdo_t.SimpleDescriptor]:
    """The hub's SE endpoint: Basic, Time, Key Establishment and Tunnelling servers."""
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1,
            profile=SE_PROFILE,
            device_type=0x0501,  # SE Energy Service Interface
            device_version=0,
            input_clusters=[0x0000, 0x000A, KEY_ESTABLISHMENT_CLUSTER, 0x0704],
            output_clusters=[0x0704],
        )
    ]


class CommsHubCoordinator(InProcessNode):
    """The coordinator and trust centre. Device models (`emulator/devices`) build on it."""

    def __init__(
        self,
        ieee: t.EUI64 | str,
        medium: Medium,
        *,
        endpoints: list[zdo_t.SimpleDescriptor] | None = None,
    ) -> None:
        # The trust centre's own link key is never used to join; any 16 bytes will do.
        super().__init__(
            ieee,
            bytes(16),
            medium,
            endpoints or hub_endpoints(),
            make_node_descriptor(zdo_t.LogicalType.Coordinator),
        )
        self.device_log = DeviceLog()
        self.joined_devices: dict[t.EUI64, t.NWK] = {}
        self._permit_until = float("-inf")
        self._tc_frame_counter = 0
        self._tc_aps_counter = 0
        self.on_zdo(zdo_t.ZDOCmd.Device_annce, self._device_announced)

    def form(self, network_key: bytes | None = None, key_seq: int = 0) -> None:
        """Form the network: NWK 0x0000, a fresh network key from the medium's seeded RNG."""
        self.medium.assign_address(self.state, COORDINATOR_NWK)
        self.state.network_key = network_key or self.medium.rng.randbytes(16)
        self.state.key_seq = key_seq
        if self.medium.capture is not None:
            self.medium.capture.add_key("HAN network key", self.state.network_key)
        LOGGER.info(
            "network formed: PAN 0x%04X channel %d", self.medium.pan_id, self.medium.channel
        )

    def permit_joining(self, seconds: float) -> None:
        self._permit_until = self.medium.clock.now() + seconds

    @property
    def permit_joining_open(self) -> bool:
        return self.medium.clock.now() < self._permit_until

    async def admit(self, joiner: HanNodeLink) -> t.NWK:
        """Run a join of ``joiner``; returns its NWK address or raises JoinError (counted)."""
        if not self.joined or self.state.network_key is None:
            raise JoinError("the network is not formed")
        if not self.permit_joining_open:
            self.stats["join_refused_not_permitted"] += 1
            raise JoinError(f"{joiner.ieee}: joining is not permitted")
        entry = self.device_log.get(joiner.ieee)
        if entry is None:
            self.stats["join_refused_not_in_log"] += 1
            LOGGER.warning("join refused: %s is not in the device log", joiner.ieee)
            raise JoinError(f"{joiner.ieee} is not in the device log")
        if self.medium.capture is not None:  # so Wireshark can open the Transport Key
            self.medium.capture.add_key(f"link key {joiner.ieee}", entry.link_key)
        nwk_addr = self.medium.free_address()
        self.medium.assign_address(joiner.state, nwk_addr)
        self._tc_frame_counter += 1
        self._tc_aps_counter = (self._tc_aps_counter + 1) & 0xFF
        transport_key = aps.encode_transport_key(
            counter=self._tc_aps_counter,
            network_key=self.state.network_key,
            key_seq=self.state.key_seq,
            dst_ieee_le=joiner.ieee.serialize(),
            src_ieee_le=self.ieee.serialize(),
            link_key=entry.link_key,
            frame_counter=self._tc_frame_counter,
        )
        latency = self.medium.transmit_unsecured(self.state, nwk_addr, transport_key)
        await self.medium.clock.sleep(latency)
        try:
            joiner.accept_transport_key(transport_key)
        except JoinError:
            self.medium.leave(joiner.state)
            self.stats["join_failed_key_mismatch"] += 1
            raise
        # Until key establishment replaces it, the install-code key is the trust centre link key.
        self.medium.set_link_key(self.ieee, joiner.ieee, entry.link_key)
        self.stats["joins"] += 1
        self.joined_devices[joiner.ieee] = t.NWK(nwk_addr)
        await joiner.announce()
        return t.NWK(nwk_addr)

    def remove_device(self, joiner: HanNodeLink) -> None:
        """Unjoin: the device loses its address and key (a Leave), and its log entry."""
        self.medium.leave(joiner.state)
        self.joined_devices.pop(joiner.ieee, None)
        self.device_log.remove(joiner.ieee)

    def _device_announced(self, packet: t.ZigbeePacket) -> None:
        try:
            _tsn, (nwk_addr, ieee, _capability) = zdo.decode(
                zdo_t.ZDOCmd.Device_annce, bytes(packet.data.serialize())
            )
        except ValueError:
            self.stats["rx_rejected_malformed_zdo"] += 1
            return
        self.joined_devices[ieee] = nwk_addr
        self.stats["device_announcements"] += 1
