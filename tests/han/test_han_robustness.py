"""Bad input anywhere (ZCL/ZDO payloads from the air, bytes on a board's UART) is counted and
survived; a lossy, duplicating network still captures cleanly."""

from __future__ import annotations

import asyncio

import pytest
import zigpy.types as t
from han_helpers import formed_network, tshark_problems
from hypothesis import given, settings
from hypothesis import strategies as st
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import zcl
from emulator.han.link import RequestError
from emulator.han.medium import PROFILE_ZDO, LinkQuality, packet_to
from emulator.han.pcap import HanCapture
from emulator.han.xbee_standin import XBeeStandIn


def _packet(profile: int, cluster: int, data: bytes) -> t.ZigbeePacket:
    return t.ZigbeePacket(
        src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(0x0000)),
        src_ep=0 if profile == PROFILE_ZDO else 1,
        dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=t.NWK(0x1234)),
        dst_ep=0 if profile == PROFILE_ZDO else 1,
        tsn=None,
        profile_id=profile,
        cluster_id=cluster,
        data=t.SerializableBytes(data),
    )


@pytest.mark.slow
@settings(max_examples=60)
@given(
    frames=st.lists(
        st.tuples(
            st.sampled_from([PROFILE_ZDO, 0x0109]),
            st.sampled_from([0x0002, 0x0004, 0x0005, 0x0006, 0x0013, 0x0701, 0x0800]),
            st.binary(max_size=40),
        ),
        max_size=8,
    ),
    uart=st.binary(max_size=200),
)
def test_random_frames_and_uart_bytes_never_raise(frames, uart):
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        radio = XBeeStandIn(
            "00:13:a2:00:41:7e:11:13", bytes(16), medium, switch.endpoints.values(), write=None
        )
        for profile, cluster, data in frames:
            # straight into the nodes, as the medium would hand them over
            for node in (hub, switch, radio):
                try:
                    node.deliver(_packet(profile, cluster, data))
                except Exception as exc:  # noqa: BLE001 - the property under test
                    raise AssertionError(f"{type(node).__name__} raised {exc!r}") from exc
        radio.feed(uart)
        await asyncio.sleep(1)
        # the switch still works
        frame = zcl.cluster_command(OnOff, "on", hub.next_tsn(), from_server=False)
        return await hub.request(int(switch.nwk), 1, OnOff.cluster_id, frame)

    response = clock.run(main)
    assert zcl.parse(OnOff, bytes(response.data.serialize())).name == "Default_Response"


def test_lossy_duplicating_network_captures_cleanly(tshark, tmp_path):
    pcap = tmp_path / "lossy.pcap"
    clock = Clock()

    async def main():
        capture = HanCapture(pcap, clock)
        medium, hub, switch = await formed_network(
            clock,
            seed=9,
            capture=capture,
            link=LinkQuality(latency_s=0.01, loss=0.25, duplication=0.25),
        )
        answered = 0
        for index in range(60):
            name = "on" if index % 2 else "off"
            frame = zcl.cluster_command(OnOff, name, hub.next_tsn(), from_server=False)
            try:
                await hub.request(int(switch.nwk), 1, OnOff.cluster_id, frame, timeout=10)
                answered += 1
            except RequestError:
                pass
        await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, b"\x01\x99\x02"))
        await asyncio.sleep(2)
        capture.close()
        return capture.tshark_key_options(), answered, medium

    keys, answered, medium = clock.run(main)
    assert answered >= 50
    assert medium.stats["rx_rejected_nwk_replay"] > 0  # duplicates happened and were dropped
    assert tshark_problems(tshark, pcap, keys) == []
