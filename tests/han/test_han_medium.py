"""The medium: latency on the simulated clock, loss with APS retries, duplicates rejected,
NWK replays rejected, counters, determinism from the seed, and zigpy's TSN-wrap trap."""

from __future__ import annotations

import asyncio

import pytest
from han_helpers import HUB_IEEE, SWITCH_IEEE, ToyOnOffSwitch, formed_network
from zigpy.types import TransmitOptions
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import aps, zcl
from emulator.han.link import RequestError
from emulator.han.medium import (
    APS_ACK_WAIT_S,
    APS_MAX_FRAME_RETRIES,
    IN_ORDER_GAP_S,
    DeliveryStatus,
    LinkQuality,
    packet_to,
)


def _off(hub) -> bytes:
    return zcl.cluster_command(OnOff, "off", hub.next_tsn(), from_server=False)


def _on(hub) -> bytes:
    return zcl.cluster_command(OnOff, "on", hub.next_tsn(), from_server=False)


def test_round_trip_takes_two_link_latencies_of_simulated_time():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock, link=LinkQuality(latency_s=0.040))
        start = clock.now()
        response = await hub.request(int(switch.nwk), 1, OnOff.cluster_id, _on(hub))
        return clock.now() - start, response, switch

    elapsed, response, switch = clock.run(main)
    # the answer follows the switch's APS ack on the same link, so it lands IN_ORDER_GAP_S later
    assert elapsed == pytest.approx(0.080 + IN_ORDER_GAP_S)
    frame = zcl.parse(OnOff, bytes(response.data.serialize()))
    assert frame.name == "Default_Response"
    assert frame.command.status == f.Status.SUCCESS
    assert switch.relay_on is True


def test_more_than_256_commands_inside_10_seconds_all_succeed():
    """zigpy's trap: TSNs wrap after 256 and its 10 s filter drops repeats. Ours must not."""
    clock = Clock()
    commands = 600

    async def main():
        medium, hub, switch = await formed_network(clock, link=LinkQuality(latency_s=0.004))
        start = clock.now()
        statuses = []
        for index in range(commands):
            frame = _on(hub) if index % 2 == 0 else _off(hub)
            response = await hub.request(int(switch.nwk), 1, OnOff.cluster_id, frame, timeout=1.0)
            statuses.append(zcl.parse(OnOff, bytes(response.data.serialize())).command.status)
            assert switch.relay_on is (index % 2 == 0)
        return clock.now() - start, statuses, switch, medium

    elapsed, statuses, switch, medium = clock.run(main)
    assert elapsed < 10.0, "the test must exercise the 10 s window"
    assert statuses == [f.Status.SUCCESS] * commands
    assert switch.commands_applied == commands
    assert switch.state.aps_counter != 0 and switch.state.stats["rx_frames"] > 512
    assert medium.stats["rx_rejected_aps_duplicate"] == 0


def test_loss_is_recovered_by_aps_retries_and_duplicates_are_rejected():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(
            clock, seed=7, link=LinkQuality(latency_s=0.01, loss=0.2, duplication=0.3)
        )
        ok = 0
        for index in range(200):
            frame = _on(hub) if index % 2 == 0 else _off(hub)
            try:
                await hub.request(int(switch.nwk), 1, OnOff.cluster_id, frame, timeout=8.0)
                ok += 1
            except RequestError:
                pass
        return ok, medium, hub, switch

    ok, medium, hub, switch = clock.run(main)
    # A try succeeds when frame and ack both survive (0.8 * 0.8); four tries each way leave
    # about 2 * 0.36**4 = 3.4 % of requests failing, ~7 of 200.
    assert 185 <= ok < 200
    assert hub.state.stats["aps_retries"] > 0
    # Duplicated copies and retransmissions after lost acks never reach the application twice.
    assert medium.stats["rx_rejected_nwk_replay"] + medium.stats["rx_rejected_aps_duplicate"] > 0
    assert switch.commands_applied == switch.state.stats["rx_frames"] - switch.stats["rx_responses"]
    assert ok <= switch.commands_applied <= 200


def test_unreachable_node_exhausts_retries_on_the_simulated_clock():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        medium.set_link(hub.ieee, switch.ieee, LinkQuality(loss=1.0))
        start = clock.now()
        status = await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, _off(hub)))
        return status, clock.now() - start, hub

    status, elapsed, hub = clock.run(main)
    assert status is DeliveryStatus.NO_ACK
    assert elapsed == pytest.approx((1 + APS_MAX_FRAME_RETRIES) * APS_ACK_WAIT_S)
    assert hub.state.stats["aps_retries"] == 1 + APS_MAX_FRAME_RETRIES
    assert hub.state.stats["tx_no_ack"] == 1


def test_same_seed_same_run_different_seed_different_run():
    def run(seed: int) -> tuple:
        clock = Clock()

        async def main():
            medium, hub, switch = await formed_network(
                clock, seed=seed, link=LinkQuality(latency_s=0.01, loss=0.3, duplication=0.3)
            )
            for _ in range(40):
                await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, _on(hub)))
            await asyncio.sleep(1)
            return (int(switch.nwk), clock.now(), dict(medium.stats))

        return clock.run(main)

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_counters_increase_and_frames_from_unjoined_nodes_are_refused():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        before = (hub.state.nwk_frame_counter, hub.state.aps_counter)
        await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, _on(hub)))
        after = (hub.state.nwk_frame_counter, hub.state.aps_counter)
        medium.leave(switch.state)
        refused = await switch.send(packet_to(0x0000, 1, OnOff.cluster_id, _on(hub)))
        no_route = await hub.send(packet_to(0x7777, 1, OnOff.cluster_id, _on(hub)))
        return before, after, refused, no_route

    before, after, refused, no_route = clock.run(main)
    assert after[0] >= before[0] + 1 and after[1] == (before[1] + 1) & 0xFF
    assert refused is DeliveryStatus.NOT_JOINED
    assert no_route is DeliveryStatus.NO_ROUTE


def test_replayed_nwk_frame_counter_is_rejected_and_counted():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        frame = aps.ApsData(1, OnOff.cluster_id, 0x0109, 1, 200, _on(hub), ack_request=False)
        medium._transmit(hub.state, int(switch.nwk), frame)
        used_counter = hub.state.nwk_frame_counter
        await asyncio.sleep(0.1)
        # A replay: the same NWK frame counter again (a fresh APS counter, so only NWK can
        # catch it).
        hub.state.nwk_frame_counter = used_counter - 1
        replay = aps.ApsData(1, OnOff.cluster_id, 0x0109, 1, 201, _off(hub), ack_request=False)
        medium._transmit(hub.state, int(switch.nwk), replay)
        await asyncio.sleep(0.1)
        return switch

    switch = clock.run(main)
    assert switch.commands_applied == 1
    assert switch.relay_on is True
    assert switch.state.stats["rx_rejected_nwk_replay"] == 1


@pytest.mark.parametrize("frames", [2, 40])
def test_frames_sent_at_one_instant_land_in_the_order_sent(frames):
    """A held simulated clock stands still while a board answers, so a node's APS ack and its
    answer leave at one instant; asyncio's timer heap keeps no order among equal times, and
    a frame overtaken by its sender's next is a NWK replay (the 7.6 lost on the firmware)."""
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        before = switch.commands_applied
        for index in range(frames):  # no await between them: one simulated instant
            command = _on(hub) if index % 2 == 0 else _off(hub)
            frame = aps.ApsData(1, OnOff.cluster_id, 0x0109, 1, index, command, ack_request=False)
            medium._transmit(hub.state, int(switch.nwk), frame)
        await asyncio.sleep(0.1)
        return switch, switch.commands_applied - before

    switch, applied = clock.run(main)
    assert switch.state.stats["rx_rejected_nwk_replay"] == 0
    assert applied == frames
    assert switch.relay_on is (frames % 2 == 1)  # the last one sent was the last one applied


def test_malformed_zcl_is_counted_not_fatal():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, b"\x01"))
        await hub.send(packet_to(int(switch.nwk), 1, OnOff.cluster_id, b""))
        # and the switch still works afterwards
        response = await hub.request(int(switch.nwk), 1, OnOff.cluster_id, _on(hub))
        return switch, response

    switch, response = clock.run(main)
    assert switch.stats["rx_rejected_malformed_zcl"] == 1
    assert switch.stats["rx_rejected_empty"] == 1
    assert zcl.parse(OnOff, bytes(response.data.serialize())).command.status == f.Status.SUCCESS


def test_node_addresses_are_unique_and_lookups_agree():
    clock = Clock()

    async def main():
        return await formed_network(clock)

    medium, hub, switch = clock.run(main)
    assert medium.node_by_nwk(0x0000).ieee == hub.ieee
    assert medium.node_by_nwk(int(switch.nwk)) is switch.state
    assert str(medium.node(switch.ieee).ieee) == SWITCH_IEEE
    assert str(hub.ieee) == HUB_IEEE


def test_broadcast_reaches_every_joined_node_but_the_sender():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        second = ToyOnOffSwitch("00:0d:6f:00:00:00:00:a6", bytes(range(16)), medium)
        hub.device_log.add(second.ieee, bytes(range(16)))
        await hub.admit(second)
        frame = zcl.cluster_command(
            OnOff, "on", hub.next_tsn(), from_server=False, want_default_response=False
        )
        status = await hub.send(packet_to(0xFFFF, 1, OnOff.cluster_id, frame))
        await asyncio.sleep(0.1)
        return status, switch, second, hub

    status, switch, second, hub = clock.run(main)
    assert status is DeliveryStatus.SUCCESS
    assert switch.relay_on and second.relay_on
    assert hub.state.stats["rx_rejected_nwk_replay"] == 0


def test_aps_encryption_needs_a_shared_link_key():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        second = ToyOnOffSwitch("00:0d:6f:00:00:00:00:a6", bytes(range(16)), medium)
        hub.device_log.add(second.ieee, bytes(range(16)))
        await hub.admit(second)
        frame = _on(hub)
        # switch <-> second share no key (no partner link key); hub <-> switch do (install code)
        refused = await switch.send(
            packet_to(int(second.nwk), 1, OnOff.cluster_id, frame, aps_encryption=True)
        )
        secured = await hub.request(
            int(switch.nwk), 1, OnOff.cluster_id, _on(hub), aps_encryption=True
        )
        return refused, secured, switch

    refused, secured, switch = clock.run(main)
    assert refused is DeliveryStatus.NO_LINK_KEY
    assert switch.state.stats["tx_no_link_key"] == 1
    # the switch answered a secured request secured (reply mirrors the request's security)
    assert TransmitOptions.APS_Encryption in TransmitOptions(secured.tx_options)
