"""The Comms Hub's HAN side on the virtual board: the device log decides who joins, the
GB-HRGP tunnel carries the meter's signed ECS80 (RTDS) to the WAN and GBCS back down."""

from __future__ import annotations

import struct
import time

import pytest
from commshub_helpers import ECS80_FILE, METER, METER_CODE, RTDS_KEYSTORE, STRANGER, Hub, of_kind
from crccheck.crc import CrcX25

import gbcs
from emulator.backoffice import commshub_wan as wan
from emulator.han.commshub_radio import MGMT_LEAVE_REQ, PROFILE_ZDO

TUNNEL = 0x0704
EVENT = wan.FrameType.DEVICE_EVENT


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "flash")
    yield h
    h.close()


def add_meter(hub: Hub) -> None:
    assert hub.command(f"devlog add {METER.hex()} {METER_CODE.hex()}") == "ok devlog add added"
    deadline = time.monotonic() + 3
    while METER not in hub.radio.registered and time.monotonic() < deadline:
        hub.radio.pump(0.05)


def open_tunnel(hub: Hub, nwk: int = 0x1A2B) -> int:
    add_meter(hub)
    assert hub.radio.join(METER, nwk)
    hub.wait_wan(EVENT)
    n = len(hub.radio.sent)
    hub.radio.deliver(METER, nwk, TUNNEL, bytes([0x01, 0x10, 0x00, 0x06, 0, 0, 0, 0xFF, 0]))
    sent = [f for f in hub.wait_radio(lambda f: f.cluster == TUNNEL, n) if f.cluster == TUNNEL]
    assert len(sent) == 1 and sent[0].dest64 == METER
    fc, tsn, command = sent[0].data[:3]
    tunnel, status, _max = struct.unpack("<HBH", sent[0].data[3:])
    assert (fc & 0x09, tsn, command, status) == (0x09, 0x10, 0x00, 0x00)
    return tunnel


def test_a_device_in_the_device_log_joins(hub):
    add_meter(hub)
    # The radio's trust centre got the install code with its CRC-16/X-25 (crccheck's).
    assert hub.radio.registered[METER] == METER_CODE + CrcX25.calc(METER_CODE).to_bytes(2, "little")
    assert hub.radio.join(METER, 0x1A2B)
    events = of_kind(hub.wait_wan(EVENT), EVENT)
    assert [e.payload for e in events] == [METER + bytes([wan.DeviceEvent.JOINED])]
    assert hub.listing("devlog") == [f"devlog {METER.hex()} nwk=1a2b tunnel=0"]
    assert "join" in " ".join(hub.board.log(5))


def test_a_device_not_in_the_device_log_cannot_join(hub):
    assert not hub.radio.join(STRANGER, 0x3C4D)  # the radio refuses an unregistered joiner
    assert hub.radio.refused_joins == [STRANGER]
    # One that gets on anyway is refused by the hub itself, told to leave and deregistered.
    n = len(hub.radio.sent)
    assert hub.radio.join(STRANGER, 0x3C4D, bypass_trust_centre=True)
    events = of_kind(hub.wait_wan(EVENT), EVENT)
    assert [e.payload for e in events] == [STRANGER + bytes([wan.DeviceEvent.REFUSED])]
    hub.wait_radio(lambda f: f.cluster == MGMT_LEAVE_REQ, n)
    leaves = [f for f in hub.radio.sent if f.profile == PROFILE_ZDO and f.cluster == MGMT_LEAVE_REQ]
    assert [f.dest64 for f in leaves] == [STRANGER]
    assert STRANGER not in hub.radio.joined
    # Whatever it still sends goes nowhere.
    hub.radio.deliver(STRANGER, 0x3C4D, TUNNEL, bytes([0x01, 0x11, 0x02, 1, 0]) + b"\xdf\x09")
    assert hub.pump(0.3) == [] and hub.radio.pump(0.1) == []
    rejected = dict(p.split("=") for p in hub.command("rejected").split()[1:])
    assert rejected["not-in-device-log"] == "2"
    assert hub.listing("devlog") == []


def test_ccs02_style_removal_unjoins_the_device(hub):
    open_tunnel(hub)
    ack = hub.send(wan.log_remove(77, METER))
    assert of_kind(ack, wan.FrameType.ACK)[0].payload == bytes([wan.AckStatus.OK])
    assert any(e.payload == METER + bytes([wan.DeviceEvent.LEFT]) for e in of_kind(
        hub.wait_wan(EVENT), EVENT))
    assert METER not in hub.radio.registered and METER not in hub.radio.joined
    hub.radio.deliver(METER, 0x1A2B, TUNNEL, bytes([0x01, 0x12, 0x02, 1, 0]) + b"\xdf")
    assert of_kind(hub.pump(0.3), wan.FrameType.GBCS_UP) == []


def test_wan_log_add_with_a_bad_install_code_is_refused(hub):
    bad = METER_CODE + b"\x00\x00"  # 18 bytes whose CRC is wrong
    ack = of_kind(hub.send(wan.log_add(5, METER, bad)), wan.FrameType.ACK)
    assert ack[0].seq == 5 and ack[0].payload == bytes([wan.AckStatus.LAYOUT])
    assert not hub.radio.join(METER, 0x1111)


def test_meter_ecs80_is_tunnelled_to_the_wan_and_verifies(hub):
    tunnel = open_tunnel(hub)
    ecs80 = bytes.fromhex(ECS80_FILE.read_text().strip())
    hub.radio.deliver(METER, 0x1A2B, TUNNEL,
                      bytes([0x01, 0x20, 0x02]) + struct.pack("<H", tunnel) + ecs80)
    up = of_kind(hub.wait_wan(wan.FrameType.GBCS_UP), wan.FrameType.GBCS_UP)
    assert len(up) == 1 and up[0].payload[:8] == METER and up[0].payload[8:] == ecs80
    message = gbcs.decode(up[0].payload[8:])
    assert message.use_case.name == "ECS80" and message.originator == METER
    report = gbcs.verify(message, gbcs.Keystore.open(RTDS_KEYSTORE))
    assert "signature verified" in str(report)


def test_gbcs_from_the_dsp_goes_down_the_tunnel(hub):
    tunnel = open_tunnel(hub)
    command = bytes.fromhex("dd000000000000") + bytes(range(40))
    n = len(hub.radio.sent)
    acks = of_kind(hub.send(wan.gbcs_down(9, METER, command)), wan.FrameType.ACK)
    assert acks[0].seq == 9 and acks[0].payload == bytes([wan.AckStatus.OK])
    down = [f for f in hub.wait_radio(lambda f: f.cluster == TUNNEL, n) if f.cluster == TUNNEL]
    assert len(down) == 1 and down[0].data[2] == 0x01  # Transfer Data, server to client
    assert struct.unpack_from("<H", down[0].data, 3)[0] == tunnel
    assert down[0].data[5:] == command
    nack = of_kind(hub.send(wan.gbcs_down(10, STRANGER, command)), wan.FrameType.ACK)
    assert nack[0].payload == bytes([wan.AckStatus.NOT_IN_LOG])


def test_the_device_log_survives_a_power_cut(hub):
    add_meter(hub)
    hub.board.power_cut()
    hub.radio.registered.clear()  # even a radio that forgot: the hub registers again at boot
    hub.power_on_at(hub.now + 5)
    deadline = time.monotonic() + 3
    while METER not in hub.radio.registered and time.monotonic() < deadline:
        hub.radio.pump(0.05)
    assert METER in hub.radio.registered
    assert hub.radio.join(METER, 0x2222)
    assert of_kind(hub.wait_wan(EVENT), EVENT)[0].payload[8] == wan.DeviceEvent.JOINED
