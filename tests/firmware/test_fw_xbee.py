"""The firmware's XBee API mode 2 framing on the unix port, against zigpy-xbee (clean
streams) and our own oracle (dirty streams, where zigpy-xbee does not resynchronise)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import zigpy.types as t
from fw_constants import VECTORS
from fw_oracle import escape_frame, frames_in
from zigpy_xbee import types as xbee_t
from zigpy_xbee.api import COMMAND_REQUESTS, COMMAND_RESPONSES
from zigpy_xbee.uart import Gateway

SPECIALS = bytes([0x7E, 0x7D, 0x11, 0x13])


def load_vectors(path: Path) -> list[tuple[str, bytes, bytes]]:
    cases = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, data, wire = (part.strip() for part in line.split("|"))
            cases.append((name, bytes.fromhex(data), bytes.fromhex(wire)))
    return cases


XBEE_VECTORS = load_vectors(VECTORS / "xbee_frames.txt")


class _Recorder:
    def __init__(self):
        self.written = b""
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written += data

    def frame_received(self, frame: bytes) -> None:
        self.frames.append(bytes(frame))


def zigpy_encode(frame_data: bytes) -> bytes:
    recorder = _Recorder()
    gateway = Gateway(recorder)
    gateway._transport = recorder
    gateway.send(frame_data)
    return recorder.written


def zigpy_decode(stream: bytes) -> list[bytes]:
    recorder = _Recorder()
    gateway = Gateway(recorder)
    gateway.data_received(stream)
    return recorder.frames


def random_body(rng: random.Random) -> bytes:
    n = rng.randint(1, 120)
    body = bytearray(rng.getrandbits(8) for _ in range(n))
    for _ in range(rng.randint(0, 6)):  # make sure the escaped bytes are everywhere
        body[rng.randrange(n)] = rng.choice(SPECIALS)
    return bytes(body)


@pytest.mark.parametrize(("name", "data", "wire"), XBEE_VECTORS, ids=[v[0] for v in XBEE_VECTORS])
def test_vectors(port, name, data, wire):
    assert zigpy_encode(data) == wire  # the vector file agrees with the reference
    assert port.call("xbee.encode", data) == wire
    assert port.call("decode_stream", wire) == [[len(wire), data, None]]


def test_encode_matches_zigpy_xbee(port):
    rng = random.Random(1)
    for _ in range(1500):
        body = random_body(rng)
        assert port.call("xbee.encode", body) == zigpy_encode(body), body.hex()


def test_decode_matches_zigpy_xbee_on_clean_streams(port):
    rng = random.Random(2)
    bodies = [random_body(rng) for _ in range(400)]
    stream = b"".join(zigpy_encode(b) for b in bodies)
    assert zigpy_decode(stream) == bodies
    steps = port.call("decode_stream", stream)
    assert [s[1] for s in steps] == bodies
    assert all(s[2] is None for s in steps)


def test_explicit_frames_match_zigpy_xbee_layout(port):
    rng = random.Random(3)
    for _ in range(300):
        dest64 = bytes(rng.getrandbits(8) for _ in range(8))
        fields = [
            rng.randrange(256),
            dest64,
            rng.randrange(65536),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(65536),
            rng.randrange(65536),
            rng.randrange(256),
            rng.randrange(256),
        ]
        data = random_body(rng)
        ref = bytes([COMMAND_REQUESTS["tx_explicit"][0]]) + t.serialize(
            [
                fields[0],
                xbee_t.EUI64(dest64[::-1]),
                fields[2],
                fields[3],
                fields[4],
                fields[5],
                fields[6],
                fields[7],
                fields[8],
                xbee_t.Bytes(data),
            ],
            COMMAND_REQUESTS["tx_explicit"][1],
        )
        frame_id, dest, nwk, src_ep, dst_ep, cluster, profile, radius, options = fields
        body = port.call(
            "xbee.tx_explicit",
            frame_id,
            dest,
            nwk,
            src_ep,
            dst_ep,
            cluster,
            profile,
            data,
            radius,
            options,
        )
        assert body == ref
        # The same fields as a received 0x91 frame, parsed by both sides.
        rx = port.call(
            "xbee_radio.rx_explicit", dest, nwk, src_ep, dst_ep, cluster, profile, options, data
        )
        parsed, rest = t.deserialize(rx[1:], COMMAND_RESPONSES["explicit_rx_indicator"][1])
        assert rx[0] == 0x91 and rest == b""
        assert bytes(parsed[0].serialize()) == dest
        assert list(parsed[1:7]) == [nwk, src_ep, dst_ep, cluster, profile, options]
        assert bytes(parsed[7]) == data
        assert port.call("xbee.parse_rx_explicit", rx) == [
            dest,
            nwk,
            src_ep,
            dst_ep,
            cluster,
            profile,
            options,
            data,
        ]


def test_status_frames_match_zigpy_xbee(port):
    at = bytes([0x08]) + t.serialize(
        [0x31, xbee_t.ATCommand(b"AO"), xbee_t.Bytes(b"\x01")], COMMAND_REQUESTS["at"][1]
    )
    assert port.call("xbee.at_command", 0x31, "AO", b"\x01") == at
    at_rsp = bytes([0x88]) + t.serialize(
        [0x07, xbee_t.ATCommand(b"SH"), 0, xbee_t.Bytes(b"\x00\x13\xa2\x00")],
        COMMAND_RESPONSES["at_response"][1],
    )
    assert port.call("xbee.parse_at_response", at_rsp) == [7, "SH", 0, b"\x00\x13\xa2\x00"]
    tx_status = bytes([0x8B]) + t.serialize(
        [0x52, xbee_t.NWK(0x4F21), 1, xbee_t.TXStatus(0x21), xbee_t.DiscoveryStatus(0)],
        COMMAND_RESPONSES["tx_status"][1],
    )
    assert port.call("xbee.parse_tx_status", tx_status) == [0x52, 0x4F21, 1, 0x21, 0]
    modem = bytes([0x8A]) + t.serialize(
        [xbee_t.ModemStatus(2)], COMMAND_RESPONSES["modem_status"][1]
    )
    assert port.call("xbee.parse_modem_status", modem) == 2
    assert port.call("xbee.parse_modem_status", b"\x8a").kind == "FrameError"


def dirty_stream(rng: random.Random) -> tuple[bytes, int]:
    """Frames mixed with noise, truncations, bad checksums and broken escapes."""
    out = bytearray()
    for _ in range(rng.randint(1, 12)):
        kind = rng.randrange(6)
        frame = escape_frame(random_body(rng))
        if kind == 0:
            out += frame
        elif kind == 1:
            out += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))
        elif kind == 2:
            out += frame[: rng.randint(1, len(frame) - 1)]  # cut short
        elif kind == 3:
            bad = bytearray(frame)
            i = rng.randrange(1, len(bad))
            bad[i] ^= 1 << rng.randrange(8)
            out += bad
        elif kind == 4:
            out += frame[:1] + b"\xff\xff" + frame[3:]  # impossible length
        else:
            out += rng.choice([b"\x7d", b"\x7d\x7e", b"\x7d\x00", b"\x7e\x7e", b"\x7e"])
    return bytes(out), 0


def test_dirty_streams_resynchronise_like_the_oracle(port):
    rng = random.Random(4)
    for _ in range(300):
        stream, _ = dirty_stream(rng)
        # A complete frame at the end makes the whole stream decidable.
        stream += escape_frame(b"\x8a\x02")
        steps = port.call("decode_stream", stream)
        assert [s[1] for s in steps if s[1] is not None] == frames_in(stream), stream.hex()
        assert sum(s[0] for s in steps) == len(stream)
        assert all((s[1] is None) == (s[2] is not None) for s in steps)


def test_incomplete_frame_asks_for_more(port):
    frame = escape_frame(bytes(range(0x10, 0x30)))
    for cut in range(1, len(frame)):
        assert port.call("decode_stream", frame[:cut]) == []
