"""The XBee stand-in, driven from the board's side with zigpy-xbee's own encoder and decoder
as the reference: AT boot sequence, join notice, 0x11 -> HAN -> 0x8B, HAN -> 0x91, ZDO answered
by the radio, and garbage on the UART counted without losing the next good frame."""

from __future__ import annotations

import asyncio
import os
import pty

import pytest
import zigpy.types as t
import zigpy.zdo.types as zdo_t
import zigpy_xbee.api as xbee_api
import zigpy_xbee.uart as xbee_uart
from han_helpers import HUB_IEEE, NETWORK_KEY, SWITCH_INSTALL_CODE, switch_endpoints
from hypothesis import given
from hypothesis import strategies as st
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import zcl, zdo
from emulator.han.medium import PROFILE_ZDO, Medium
from emulator.han.network import CommsHubCoordinator
from emulator.han.security import link_key_from_install_code
from emulator.han.xbee_standin import FrameDecoder, XBeeStandIn, encode_frame

BOARD_IEEE = "00:13:a2:00:41:7e:11:13"


class _Recorder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.frames.append(data)

    def frame_received(self, frame: bytes) -> None:
        self.frames.append(frame)


def reference_encode(name: str, *args) -> bytes:
    """What zigpy-xbee puts on the wire for a request frame (the board side's bytes)."""
    frame_type, schema, _ = xbee_api.COMMAND_REQUESTS[name]
    recorder = _Recorder()
    gateway = xbee_uart.Gateway(api=None)
    gateway._transport = recorder
    gateway.send(bytes([frame_type]) + t.serialize(args, schema))
    return recorder.frames[0]


def reference_decode(wire: bytes) -> list[tuple[str, list]]:
    """Frames the stand-in sent to the board, decoded by zigpy-xbee."""
    recorder = _Recorder()
    gateway = xbee_uart.Gateway(api=recorder)
    gateway.data_received(wire)
    by_id = {spec[0]: name for name, spec in xbee_api.COMMAND_RESPONSES.items()}
    out = []
    for frame in recorder.frames:
        name = by_id[frame[0]]
        args, _rest = t.deserialize(frame[1:], xbee_api.COMMAND_RESPONSES[name][1])
        out.append((name, args))
    return out


@given(st.binary(min_size=1, max_size=120))
def test_framing_matches_zigpy_xbee_both_ways(frame_data):
    recorder = _Recorder()
    gateway = xbee_uart.Gateway(api=None)
    gateway._transport = recorder
    gateway.send(frame_data)
    assert encode_frame(frame_data) == recorder.frames[0]
    assert FrameDecoder().feed(recorder.frames[0]) == [frame_data]


def test_decoder_resynchronises_and_counts_bad_input():
    good = encode_frame(b"\x08\x01AI")
    bad_checksum = bytearray(encode_frame(b"\x08\x02AI"))
    bad_checksum[-1] ^= 0xFF
    stream = b"noise" + good[:4] + bytes(bad_checksum) + b"\x7e\x00\x00" + good
    decoder = FrameDecoder()
    assert decoder.feed(stream) == [b"\x08\x01AI"]
    assert decoder.rejected == 4  # noise, truncated frame, bad checksum, zero length


def _network(clock: Clock):
    medium = Medium(clock, seed=11)
    hub = CommsHubCoordinator(HUB_IEEE, medium)
    hub.form(NETWORK_KEY)
    hub.permit_joining(60)
    board_wire = _Recorder()
    radio = XBeeStandIn(
        BOARD_IEEE,
        link_key_from_install_code(SWITCH_INSTALL_CODE),
        medium,
        switch_endpoints(),
        write=board_wire.write,
    )
    hub.device_log.add(BOARD_IEEE, SWITCH_INSTALL_CODE)
    return medium, hub, radio, board_wire


def test_boot_at_commands_and_join_notice():
    clock = Clock()

    async def main():
        medium, hub, radio, wire = _network(clock)
        for frame_id, command, param in (
            (1, b"AO", b"\x01"),
            (2, b"SH", b""),
            (3, b"SL", b""),
            (4, b"AI", b""),
            (5, b"VR", b""),
        ):
            radio.feed(reference_encode("at", frame_id, command, param))
        before_join = reference_decode(b"".join(wire.frames))
        wire.frames.clear()
        await hub.admit(radio)
        radio.feed(reference_encode("at", 6, b"AI", b""))
        radio.feed(reference_encode("at", 7, b"ZZ", b""))
        after_join = reference_decode(b"".join(wire.frames))
        return radio, before_join, after_join

    radio, before, after = clock.run(main)
    assert radio.api_options == 0x01
    assert [(name, args[0], args[1], args[2]) for name, args in before] == [
        ("at_response", 1, b"AO", 0),
        ("at_response", 2, b"SH", 0),
        ("at_response", 3, b"SL", 0),
        ("at_response", 4, b"AI", 0),
        ("at_response", 5, b"VR", 0),
    ]
    assert bytes(before[1][1][3]) + bytes(before[2][1][3]) == bytes.fromhex("0013a200417e1113")
    assert bytes(before[3][1][3]) == b"\xff"  # not joined yet
    assert after[0][0] == "modem_status" and int(after[0][1][0]) == 0x02
    assert after[1][1][:3] == [6, b"AI", 0] and bytes(after[1][1][3]) == b"\x00"
    assert after[2][1][:3] == [7, b"ZZ", 2]  # unknown AT command: status 2


def test_commands_flow_hub_to_board_and_back_through_xbee_frames():
    """The hub sends On/Off 'off'; the 'board' (zigpy-xbee codec) answers with a 0x11."""
    clock = Clock()

    async def main():
        medium, hub, radio, wire = _network(clock)
        await hub.admit(radio)
        wire.frames.clear()

        async def board():
            while not wire.frames:
                await asyncio.sleep(0.001)
            name, args = reference_decode(wire.frames.pop(0))[0]
            assert name == "explicit_rx_indicator"
            src_ieee, src_nwk, src_ep, dst_ep, cluster, profile, options, data = args
            frame = zcl.parse(OnOff, bytes(data))
            reply = zcl.default_response(
                frame.tsn, frame.header.command_id, f.Status.SUCCESS, from_server=True
            )
            radio.feed(
                reference_encode(
                    "tx_explicit",
                    0x52,
                    src_ieee,
                    src_nwk,
                    dst_ep,
                    src_ep,
                    cluster,
                    profile,
                    0,
                    0,
                    reply,
                )
            )
            return args

        board_task = asyncio.get_running_loop().create_task(board())
        off = zcl.cluster_command(OnOff, "off", hub.next_tsn(), from_server=False)
        response = await hub.request(int(radio.nwk), 1, OnOff.cluster_id, off)
        rx_args = await board_task
        await asyncio.sleep(0.1)
        status = reference_decode(b"".join(wire.frames))
        return hub, radio, response, rx_args, status

    hub, radio, response, rx_args, status = clock.run(main)
    src_ieee, src_nwk, src_ep, dst_ep, cluster, profile, options, data = rx_args
    assert str(src_ieee) == HUB_IEEE and src_nwk == 0x0000
    assert (src_ep, dst_ep, cluster, profile) == (1, 1, 0x0006, 0x0109)
    assert options & 0x01 and bytes(data)[2] == 0x00  # acknowledged unicast; command 'off'
    parsed = zcl.parse(OnOff, bytes(response.data.serialize()))
    assert parsed.name == "Default_Response" and parsed.command.status == f.Status.SUCCESS
    assert status[0][0] == "tx_status"
    frame_id, nwk_addr, _retries, delivery, _discovery = status[0][1]
    assert (frame_id, nwk_addr, int(delivery)) == (0x52, 0x0000, 0x00)


def test_radio_answers_zdo_itself_and_unknown_destination_is_reported():
    clock = Clock()

    async def main():
        medium, hub, radio, wire = _network(clock)
        await hub.admit(radio)
        wire.frames.clear()
        n = int(radio.nwk)
        request = zdo.encode(zdo_t.ZDOCmd.Active_EP_req, hub.next_tsn(), n)
        rsp = await hub.request(
            n, 0, zdo_t.ZDOCmd.Active_EP_req, request, src_ep=0, profile_id=PROFILE_ZDO
        )
        to_board_after_zdo = list(wire.frames)
        stranger = t.EUI64.convert("00:00:00:00:00:00:99:99")
        radio.feed(
            reference_encode(
                "tx_explicit",
                9,
                stranger,
                0xFFFE,
                1,
                1,
                0x0006,
                0x0109,
                0,
                0,
                b"\x18\x01\x0b\x00\x00",
            )
        )
        await asyncio.sleep(0.1)
        return rsp, to_board_after_zdo, reference_decode(b"".join(wire.frames))

    rsp, to_board, status = clock.run(main)
    assert zdo.decode(zdo_t.ZDOCmd.Active_EP_rsp, bytes(rsp.data.serialize()))[1][2] == [1]
    assert to_board == []  # AO=0/1: ZDO stays with the radio
    assert status[0][0] == "tx_status" and int(status[0][1][3]) == 0x24


def test_real_pty_carries_the_frames():
    """attach_fd serves a board on a pty master, as a virtual board's radio UART."""
    clock = Clock(mode="wall")

    async def main():
        medium, hub, radio, _wire = _network(clock)
        master, slave = pty.openpty()
        import termios
        import tty

        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[4] = attrs[5] = termios.B115200  # the line speed of a radio at BD=7
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        try:
            radio.attach_fd(master)
            os.write(slave, reference_encode("at", 1, b"SH", b""))
            await asyncio.sleep(0.2)
            os.set_blocking(slave, False)
            got = os.read(slave, 4096)
        finally:
            asyncio.get_running_loop().remove_reader(master)
            os.close(master)
            os.close(slave)
        return reference_decode(got)

    decoded = clock.run(main)
    assert decoded[0][0] == "at_response" and decoded[0][1][:3] == [1, b"SH", 0]
    assert bytes(decoded[0][1][3]) == bytes.fromhex("0013a200")


@pytest.mark.parametrize("garbage", [b"\x7e\x00\x05\x08", b"\x7e\x00\x02\x99\x00\x66", b"\x13\x11"])
def test_garbage_never_raises(garbage):
    clock = Clock()

    async def main():
        medium, hub, radio, wire = _network(clock)
        radio.feed(garbage)
        radio.feed(reference_encode("at", 3, b"AI", b""))
        return radio, reference_decode(b"".join(wire.frames))

    radio, decoded = clock.run(main)
    assert decoded[-1][1][:3] == [3, b"AI", 0]
    assert radio.stats["from_board_rejected"] >= 1


def test_primer_worked_example_frame():
    """Primer 4.2: On/Off 'off', TSN 0x7D, to 0x4F21 / 00:13:a2:00:41:7e:11:13, frame id 0x52."""
    frame_data = bytes.fromhex("1152 0013a200417e1113 4f21 01 01 0006 0109 00 00 017d00")
    wire = bytes.fromhex("7e00177d3152007d33a200417d5e7d317d334f210101000601090000017d5d0004")
    assert encode_frame(frame_data) == wire
    assert FrameDecoder().feed(wire) == [frame_data]
