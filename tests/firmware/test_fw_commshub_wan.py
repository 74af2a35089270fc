"""The WAN framing: the firmware's codec (on the unix port) and the DSP's CPython codec
agree on the same bytes, both resynchronise after noise and damage, and the hub's own
ECS80-shaped restoration alert decodes with gbcs for every date it may carry."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from commshub_helpers import HubCodecPort
from crccheck.crc import CrcX25
from fw_constants import VECTORS

import gbcs
from emulator.backoffice import commshub_wan as wan
from gbcs.alerts import interpret_dlms

CASES = json.loads((VECTORS / "commshub_wan.json").read_text())


@pytest.fixture(scope="module")
def hubport(mpy_tree):
    session = HubCodecPort(mpy_tree)
    yield session
    session.close()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_firmware_and_cpython_encode_the_same_bytes(hubport, case):
    payload = bytes.fromhex(case["payload"])
    ours = hubport.call("wan.encode", case["kind"], case["seq"], payload)
    assert ours == wan.encode(case["kind"], case["seq"], payload)
    assert wan.decode_all(ours) == [wan.Frame(case["kind"], case["seq"], payload)]
    steps = hubport.call("decode_stream", wan.encode(case["kind"], case["seq"], payload))
    assert steps == [[len(ours), [case["kind"], case["seq"], payload], None]]


def test_both_codecs_recover_the_same_frames_from_a_damaged_stream(hubport):
    rng = random.Random(9)
    frames = [wan.Frame(rng.choice(list(wan.FrameType)), rng.randrange(65536),
                        rng.randbytes(rng.randrange(0, 80))) for _ in range(60)]
    stream = bytearray()
    for f in frames:
        chunk = bytearray(wan.encode(f.kind, f.seq, f.payload))
        damage = rng.random()
        if damage < 0.15:
            chunk[rng.randrange(len(chunk))] ^= 0x40  # a flipped bit: CRC or magic fails
        elif damage < 0.25:
            chunk = chunk[: rng.randrange(1, len(chunk))]  # cut short
        stream += bytes(rng.randbytes(rng.randrange(0, 6))) + chunk
    cpython = wan.decode_all(bytes(stream))
    firmware = [wan.Frame(*s[1]) for s in hubport.call("decode_stream", bytes(stream)) if s[1]]
    assert firmware == cpython
    intact = [f for f in frames if f in cpython]
    assert len(intact) >= 40 and all(f in frames for f in cpython)


@pytest.mark.parametrize("code", [0x8F35, 0x8F36])
@pytest.mark.parametrize("when", ["2000-01-01T00:00:00", "2024-02-29T23:59:59",
                                  "2027-01-15T08:00:00", "2099-12-31T12:34:56"])
def test_hub_ecs80_decodes_with_gbcs(hubport, code, when):
    end = int((dt.datetime.fromisoformat(when + "+00:00") - wan.ZIGBEE_EPOCH).total_seconds())
    start = max(0, end - 400)
    hub, dno = bytes.fromhex("0013a20041a7b001"), bytes.fromhex("90b3d51f30020000")
    apdu = hubport.call("gbcs_alert.ecs80", 4123, hub, dno, code, end, start, end)
    message = gbcs.decode(apdu)
    assert gbcs.encode(message) == apdu
    assert (message.counter, message.originator, message.target) == (4123, hub, dno)
    fields = interpret_dlms(message.message_code, message.payload.notification.value)
    for name, seconds in (("time_stamp", end), ("interruption_time", start),
                          ("restoration_time", end)):
        t = wan.zigbee_time(seconds)
        assert getattr(fields, name)[:9] == bytes([t.year >> 8, t.year & 0xFF, t.month, t.day,
                                                   0xFF, t.hour, t.minute, t.second, 0])
    assert fields.alert_code == code


@pytest.mark.parametrize("size", [16, 18])
def test_install_code_crc_matches_crccheck(hubport, size):
    code = bytes(range(16))
    given = code + CrcX25.calc(code).to_bytes(2, "little") if size == 18 else code
    assert hubport.call("devicelog.with_crc", given) == code + CrcX25.calc(code).to_bytes(
        2, "little")


def test_cpython_codec_gives_typed_errors():
    with pytest.raises(wan.WanError, match="payload byte"):
        wan.parse_outage(b"\x00" * 5)
    with pytest.raises(wan.WanError):
        wan.encode(wan.FrameType.GBCS_UP, 1, bytes(wan.MAX_PAYLOAD + 1))
