"""The same HAN with the real switch firmware: a virtual board (MicroPython unix port behind a
pty) whose radio is the XBee stand-in. The meter commands it over ZCL exactly as it would an
in-process model, and the capture of the run dissects cleanly in tshark."""

from __future__ import annotations

import asyncio

import pytest
import zigpy.zdo.types as zdo_t
from han_helpers import (
    HUB_IEEE,
    NETWORK_KEY,
    SWITCH_INSTALL_CODE,
    switch_endpoints,
    tshark_fields,
    tshark_problems,
)
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import se_clusters as se
from emulator.han import zcl
from emulator.han.link import InProcessNode, RequestError
from emulator.han.medium import Medium
from emulator.han.network import CommsHubCoordinator
from emulator.han.pcap import HanCapture
from emulator.han.security import link_key_from_install_code
from emulator.han.xbee_standin import XBeeStandIn

ESME_IEEE = "00:12:4b:00:01:a2:b3:c4"
ESME_CODE = bytes(range(16))
STRANGER_IEEE = "00:12:4b:00:01:ff:ee:01"
BOARD_IEEE = "00:13:a2:00:41:7e:11:13"
COMMANDS = 12


def _meter(ieee: str, medium: Medium) -> InProcessNode:
    return InProcessNode(
        ieee,
        link_key_from_install_code(ESME_CODE),
        medium,
        [
            zdo_t.SimpleDescriptor(
                endpoint=1,
                profile=0x0109,
                device_type=0x0501,
                device_version=0,
                input_clusters=[0x0701],
                output_clusters=[0x0006],
            )
        ],
    )


@pytest.fixture(scope="module")
def board_run(tmp_path_factory):
    from emulator.virtual_board import VirtualBoard

    tmp = tmp_path_factory.mktemp("board")
    pcap = tmp / "board.pcap"
    clock = Clock(mode="wall")  # a real process is in the loop
    board = VirtualBoard("hcalcs", tmp / "flash", esme=ESME_IEEE.replace(":", ""))
    board.power_on()

    async def main():
        capture = HanCapture(pcap, clock)
        medium = Medium(clock, seed=2, capture=capture)
        hub = CommsHubCoordinator(HUB_IEEE, medium)
        hub.form(NETWORK_KEY)
        hub.permit_joining(60)
        esme = _meter(ESME_IEEE, medium)
        stranger = _meter(STRANGER_IEEE, medium)
        scheduled_requests = []
        esme.on_cluster(
            1,
            se.DemandResponseLoadControl.cluster_id,
            lambda p: scheduled_requests.append(
                zcl.parse(se.DemandResponseLoadControl, bytes(p.data.serialize())).name
            ),
        )
        radio = XBeeStandIn(
            BOARD_IEEE, link_key_from_install_code(SWITCH_INSTALL_CODE), medium, switch_endpoints()
        )
        radio.attach_fd(board.radio_fd)
        for node, code in ((esme, ESME_CODE), (stranger, ESME_CODE), (radio, SWITCH_INSTALL_CODE)):
            hub.device_log.add(node.ieee, code)
            await hub.admit(node)
        # the switch obeys only APS-secured commands: meter and switch share a link key (so
        # does the stranger, which is refused for its address)
        for node in (esme, stranger):
            medium.set_link_key(node.ieee, radio.ieee, bytes(range(0x40, 0x50)))
        await asyncio.sleep(0.5)  # the firmware's Get Scheduled Events after the join
        statuses = []
        for index in range(COMMANDS):
            name = "off" if index % 2 == 0 else "on"
            frame = zcl.cluster_command(OnOff, name, esme.next_tsn(), from_server=False)
            response = await esme.request(
                int(radio.nwk), 1, OnOff.cluster_id, frame, aps_encryption=True
            )
            statuses.append((name, zcl.parse(OnOff, bytes(response.data.serialize()))))
        relay_after_off = board.state()["relay"]
        stranger_frame = zcl.cluster_command(OnOff, "on", stranger.next_tsn(), from_server=False)
        try:
            await stranger.request(
                int(radio.nwk), 1, OnOff.cluster_id, stranger_frame, timeout=1, aps_encryption=True
            )
            stranger_answered = True
        except RequestError:
            stranger_answered = False
        relay_after_stranger = board.state()["relay"]
        capture.close()
        return {
            "statuses": statuses,
            "scheduled": scheduled_requests,
            "relay_after_off": relay_after_off,
            "stranger_answered": stranger_answered,
            "relay_after_stranger": relay_after_stranger,
            "radio": radio,
            "keys": capture.tshark_key_options(),
        }

    try:
        result = clock.run(main)
    finally:
        board.close()
    return pcap, result


def test_firmware_switch_obeys_the_meter_over_the_han(board_run):
    _pcap, result = board_run
    assert [name for name, _ in result["statuses"]] == ["off", "on"] * (COMMANDS // 2)
    for name, frame in result["statuses"]:
        assert frame.name == "Default_Response", name
        assert frame.command.status == f.Status.SUCCESS
        assert frame.command.command_id == (0x00 if name == "off" else 0x01)
    assert result["relay_after_off"] == "closed"  # the last command was 'on'
    assert result["radio"].stats["at_commands"] >= 5
    assert result["radio"].stats["from_board_rejected"] == 0


def test_firmware_asks_the_meter_for_scheduled_events_after_joining(board_run):
    _pcap, result = board_run
    assert "get_scheduled_events" in result["scheduled"]


def test_firmware_ignores_a_meter_it_is_not_commissioned_with(board_run):
    _pcap, result = board_run
    assert result["stranger_answered"] is False
    assert result["relay_after_stranger"] == "closed"


def test_capture_of_the_firmware_run_dissects_cleanly(tshark, board_run):
    pcap, result = board_run
    assert tshark_problems(tshark, pcap, result["keys"]) == []
    commands = tshark_fields(
        tshark,
        pcap,
        result["keys"],
        ["zbee_zcl_general.onoff.cmd.srv_rx.id"],
        "zbee_zcl_general.onoff.cmd.srv_rx.id",
    )
    assert [int(r[0], 0) for r in commands] == [0, 1] * (COMMANDS // 2) + [1]
    gse = tshark_fields(
        tshark,
        pcap,
        result["keys"],
        ["zbee_zcl_se.drlc.get_scheduled_events.numbers_of_events"],
        "zbee_zcl_se.drlc.cmd.srv_rx.id == 1",
    )
    assert len(gse) >= 1
