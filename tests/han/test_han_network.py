"""Formation and joining through the Comms Hub's device log; ZDO descriptors answered."""

from __future__ import annotations

import asyncio

import pytest
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from han_helpers import (
    NETWORK_KEY,
    SWITCH_IEEE,
    SWITCH_INSTALL_CODE,
    ToyOnOffSwitch,
    formed_network,
)
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import zcl, zdo
from emulator.han.link import JoinError
from emulator.han.medium import PROFILE_ZDO, DeliveryStatus, Medium, packet_to
from emulator.han.network import CommsHubCoordinator

OTHER_CODE = bytes.fromhex("00112233445566778899aabbccddeeff")


def _hub(clock: Clock) -> tuple[Medium, CommsHubCoordinator]:
    medium = Medium(clock, seed=5)
    hub = CommsHubCoordinator("00:0d:6f:00:00:00:00:01", medium)
    hub.form(NETWORK_KEY)
    hub.permit_joining(60)
    return medium, hub


def test_logged_device_joins_gets_the_network_key_and_is_announced():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        await asyncio.sleep(0.1)
        return medium, hub, switch

    medium, hub, switch = clock.run(main)
    assert switch.joined and switch.state.network_key == NETWORK_KEY
    assert switch.nwk not in (None, 0x0000)
    assert hub.joined_devices == {t.EUI64.convert(SWITCH_IEEE): switch.nwk}
    assert hub.stats["joins"] == 1 and hub.stats["device_announcements"] == 1


def test_device_not_in_the_log_cannot_join():
    clock = Clock()

    async def main():
        medium, hub = _hub(clock)
        stranger = ToyOnOffSwitch("00:0d:6f:00:00:00:00:bb", OTHER_CODE, medium)
        with pytest.raises(JoinError, match="not in the device log"):
            await hub.admit(stranger)
        status = await stranger.send(packet_to(0x0000, 1, OnOff.cluster_id, b"\x01\x01\x01"))
        return hub, stranger, status

    hub, stranger, status = clock.run(main)
    assert not stranger.joined and stranger.nwk is None
    assert status is DeliveryStatus.NOT_JOINED
    assert hub.stats["join_refused_not_in_log"] == 1


def test_wrong_install_code_cannot_decrypt_the_network_key():
    clock = Clock()

    async def main():
        medium, hub = _hub(clock)
        impostor = ToyOnOffSwitch(SWITCH_IEEE, OTHER_CODE, medium)  # logged EUI, wrong code
        hub.device_log.add(SWITCH_IEEE, SWITCH_INSTALL_CODE)
        with pytest.raises(JoinError, match="Transport Key not accepted"):
            await hub.admit(impostor)
        return medium, hub, impostor

    medium, hub, impostor = clock.run(main)
    assert not impostor.joined and impostor.state.network_key is None
    assert impostor.stats["join_key_rejected"] == 1
    assert hub.stats["join_failed_key_mismatch"] == 1
    assert len(medium._by_nwk) == 1  # only the hub keeps an address


def test_joining_closed_after_permit_window():
    clock = Clock()

    async def main():
        medium, hub = _hub(clock)
        hub.device_log.add(SWITCH_IEEE, SWITCH_INSTALL_CODE)
        await asyncio.sleep(61)
        switch = ToyOnOffSwitch(SWITCH_IEEE, SWITCH_INSTALL_CODE, medium)
        with pytest.raises(JoinError, match="not permitted"):
            await hub.admit(switch)
        hub.permit_joining(30)
        await hub.admit(switch)
        return hub, switch

    hub, switch = clock.run(main)
    assert switch.joined and hub.stats["join_refused_not_permitted"] == 1


def test_unjoined_device_hears_nothing():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        nwk = int(switch.nwk)
        hub.remove_device(switch)
        frame = zcl.cluster_command(OnOff, "on", hub.next_tsn(), from_server=False)
        status = await hub.send(packet_to(nwk, 1, OnOff.cluster_id, frame))
        return hub, switch, status

    hub, switch, status = clock.run(main)
    assert status is DeliveryStatus.NO_ROUTE
    assert switch.commands_applied == 0 and SWITCH_IEEE not in {str(e) for e in hub.joined_devices}


async def _zdo(hub, nwk: int, request: zdo_t.ZDOCmd, response: zdo_t.ZDOCmd, *args):
    frame = zdo.encode(request, hub.next_tsn(), *args)
    reply = await hub.request(nwk, 0, request, frame, src_ep=0, profile_id=PROFILE_ZDO)
    assert reply.cluster_id == response
    return zdo.decode(response, bytes(reply.data.serialize()))[1]


def test_zdo_descriptors_are_answered():
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        n = int(switch.nwk)
        node = await _zdo(hub, n, zdo_t.ZDOCmd.Node_Desc_req, zdo_t.ZDOCmd.Node_Desc_rsp, n)
        active = await _zdo(hub, n, zdo_t.ZDOCmd.Active_EP_req, zdo_t.ZDOCmd.Active_EP_rsp, n)
        simple = await _zdo(
            hub, n, zdo_t.ZDOCmd.Simple_Desc_req, zdo_t.ZDOCmd.Simple_Desc_rsp, n, 1
        )
        missing = await _zdo(
            hub, n, zdo_t.ZDOCmd.Simple_Desc_req, zdo_t.ZDOCmd.Simple_Desc_rsp, n, 9
        )
        # A joining SE device looks for the trust centre's Key Establishment server.
        match = await _zdo(
            switch,
            0x0000,
            zdo_t.ZDOCmd.Match_Desc_req,
            zdo_t.ZDOCmd.Match_Desc_rsp,
            0x0000,
            0x0109,
            [0x0800],
            [],
        )
        return n, node, active, simple, missing, match

    n, node, active, simple, missing, match = clock.run(main)
    assert node[0] == zdo_t.Status.SUCCESS and node[1] == n
    assert node[2].logical_type == zdo_t.LogicalType.Router
    assert active == [zdo_t.Status.SUCCESS, n, [1]]
    assert simple[2].profile == 0x0109 and simple[2].device_type == 0x0505
    assert 0x0006 in simple[2].input_clusters and 0x0701 in simple[2].output_clusters
    assert missing[0] == zdo_t.Status.NOT_ACTIVE and missing[2] is None
    assert match == [zdo_t.Status.SUCCESS, 0x0000, [1]]
