"""The switch on the virtual board (mpy-cross build on the unix port, behind ptys): the
console protocol, commissioning, the state machine, On/Off, Level, DRLC, labels, boost."""

from __future__ import annotations

import struct
import time

import pytest
from fw_constants import ESME, LABEL, STRANGER
from fw_oracle import Meter, is_response_to, zcl_parts

from emulator.clock import ZIGBEE_EPOCH_UNIX

ON_OFF, LEVEL, DRLC, CONFIG, BASIC = 0x0006, 0x0008, 0x0701, 0xFC00, 0x0000
T0 = 1_800_000_000  # a simulated unix time: 2027-01-15 08:00 UTC


def wait_for(predicate, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def rejected(board) -> dict[str, int]:
    parts = board.command("rejected").split()[1:]
    return {k: int(v) for k, v in (p.split("=") for p in parts)}


def on_off(meter: Meter, command: int, payload: bytes = b"") -> tuple[int, list[dict]]:
    """Send an On/Off command; (its TSN, the frames up to the board's answer)."""
    tsn = meter.next_tsn()
    return tsn, meter.request(ON_OFF, bytes([0x01, tsn, command]) + payload)


def confirm(board, meter: Meter) -> None:
    """Any good frame from the meter ends the fail-safe state: read the On/Off attribute."""
    meter.request(ON_OFF, bytes([0x00, meter.next_tsn(), 0x00, 0x00, 0x00]))
    assert board.state()["source"] != "failsafe"


def default_responses(frames: list[dict]) -> list[tuple[int, int, int]]:
    """(tsn, command, status) of each Default Response."""
    out = []
    for f in frames:
        fc, tsn, command, payload = zcl_parts(f)
        if command == 0x0B and fc & 0x03 == 0:
            out.append((tsn, payload[0], payload[1]))
    return out


def reports(frames: list[dict]) -> list[tuple[int, bytes]]:
    return [
        (f["cluster"], f["data"][3:])
        for f in frames
        if f["data"][2] == 0x0A and f["data"][0] & 0x03 == 0
    ]


def drlc_statuses(frames: list[dict]) -> list[tuple[int, int]]:
    """(issuer event id, event status) of each Report Event Status."""
    return [
        struct.unpack("<IB", f["data"][3:8])
        for f in frames
        if f["cluster"] == DRLC and f["data"][0] == 0x01 and f["data"][2] == 0x00
    ]


def load_control_event(
    issuer: int,
    minutes: int,
    adjustment: int = -128,
    duty: int = 0xFF,
    start: int = 0,
    device_class: int = 0x0400,
) -> bytes:
    return struct.pack(
        "<IHBIHBBBhhbBB",
        issuer,
        device_class,
        0,
        start,
        minutes,
        7,
        0xFF,
        0xFF,
        -32768,
        -32768,
        adjustment,
        duty,
        0,
    )


def drlc_command(meter: Meter, command: int, payload: bytes) -> list[dict]:
    return meter.request(DRLC, bytes([0x09, meter.next_tsn(), command]) + payload)


def level(meter: Meter, command: int, zcl_level: int, transition: int = 0) -> list[dict]:
    return meter.request(
        LEVEL, bytes([0x01, meter.next_tsn(), command, zcl_level]) + struct.pack("<H", transition)
    )


def is_drlc_status(frame: dict) -> bool:
    return frame["cluster"] == DRLC and frame["data"][0] == 0x01 and frame["data"][2] == 0x00


def test_console_commands_answer(make_board):
    board = make_board("hcalcs")
    assert board.command("version").startswith("version gbhan-switch ")
    assert board.command("version").endswith("role=hcalcs")
    assert board.command("nonsense") == "error unknown nonsense"
    assert board.command("clock 12") == "error clock value"
    assert board.command(f"clock {T0}") == f"ok clock {T0}"
    assert board.command("mains off") == "ok mains off"
    assert board.command("mains on") == "ok mains on"
    entries = board.log(5)
    assert entries[-2].endswith("power mains-lost") and entries[-1].endswith("power mains-restored")
    assert all(e.split()[2] == str(T0) for e in entries[-2:])


def test_boot_is_failsafe_and_asks_the_meter_for_events(make_board):
    board = make_board("hcalcs")
    assert board.command("state") == "relay=open level=0 source=failsafe"
    meter = Meter(board, ESME)
    frames = meter.until(lambda f: f["cluster"] == DRLC)
    gse = [f for f in frames if f["cluster"] == DRLC]
    assert len(gse) == 1 and gse[0]["dest64"] == ESME and gse[0]["profile"] == 0x0109
    assert gse[0]["data"][0] == 0x01 and gse[0]["data"][2] == 0x01  # Get Scheduled Events
    assert board.command("boost") == "refused boost failsafe"
    log = board.log(20)
    assert any("transition relay=open level=0 source=failsafe cause=boot" in e for e in log)


def test_on_off_toggle_from_the_meter(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    tsn, frames = on_off(meter, 0x01)
    assert default_responses(frames) == [(tsn, 0x01, 0x00)]
    assert reports(frames) == [(ON_OFF, bytes([0x00, 0x00, 0x10, 0x01]))]
    assert board.command("state") == "relay=closed level=100 source=remote"
    on_off(meter, 0x02)
    assert board.command("state") == "relay=open level=0 source=remote"
    tsn, frames = on_off(meter, 0x00)
    assert default_responses(frames) == [(tsn, 0x00, 0x00)]
    assert reports(frames) == []  # no change, nothing to report
    assert board.command("state") == "relay=open level=0 source=remote"
    assert any("transition relay=closed" in e and "on-off on" in e for e in board.log(20))


def test_only_the_commissioned_meter_may_command(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    before = board.command("state")
    tsn = meter.next_tsn()
    meter.send(ON_OFF, bytes([0x01, tsn, 0x02]), src64=STRANGER)
    assert wait_for(lambda: rejected(board).get("unauthorised")) == 1
    assert board.command("state") == before
    frames = meter.receive(99, timeout=0.3)
    assert not any(is_response_to(f, tsn) for f in frames)  # no answer to a stranger
    assert any(f"reject unauthorised {STRANGER}" in e for e in board.log(5))


PLAIN = 0x01  # 0x91 receive options: acked, *not* APS-encrypted


def entries_after(board, seq: int, count: int = 60) -> list[str]:
    """The log entries after `seq`, as "<kind> <detail>"."""
    return [" ".join(e.split()[3:]) for e in board.log(count) if int(e.split()[1]) > seq]


@pytest.mark.parametrize("extra", [[], ["--ticks-wrap", "30000"]], ids=["64bit", "ticks-wrap"])
def test_rejections_reach_the_log_at_most_once_a_minute(make_board, extra):
    """A flood of bad frames is counted in RAM; the log (flash) gets the first in full and
    then one summary a minute, so 10 bad frames a second cannot wear the flash out. Also
    with a 32-bit port's ticks wrapping 30 s after boot (the minutes below cross it)."""
    board = make_board("hcalcs", extra=extra)
    meter = Meter(board, ESME)
    confirm(board, meter)
    first = int(board.log(1)[0].split()[1])
    for _ in range(40):
        meter.send(ON_OFF, bytes([0x01, meter.next_tsn(), 0x01]), src64=STRANGER)
    for _ in range(15):
        meter.send(ON_OFF, bytes([0x01, meter.next_tsn(), 0x01]), options=PLAIN)
    assert wait_for(lambda: rejected(board)["total"] == 55)
    assert entries_after(board, first) == [f"reject unauthorised {STRANGER}"]
    assert board.command("advance 59000") == "ok advance 59000"
    assert len(entries_after(board, first)) == 1  # not a minute yet
    assert board.command("advance 1000") == "ok advance 1000"
    assert entries_after(board, first)[1:] == ["reject-summary n=54 unauthorised=39 unencrypted=15"]
    meter.send(ON_OFF, bytes([0x01, meter.next_tsn(), 0x01]), src64=STRANGER)  # quiet again
    assert wait_for(lambda: rejected(board)["total"] == 56)
    assert len(entries_after(board, first)) == 2
    board.command("advance 60000")
    assert entries_after(board, first)[2:] == ["reject-summary n=1 unauthorised=1"]
    board.command("advance 60000")  # a quiet minute: nothing to say, and the window closes
    meter.send(ON_OFF, bytes([0x01, meter.next_tsn(), 0x00]), options=PLAIN)
    assert wait_for(lambda: rejected(board)["total"] == 57)
    assert entries_after(board, first)[3:] == ["reject unencrypted cluster=0006 cmd=00"]
    assert rejected(board) == {"total": 57, "unauthorised": 41, "unencrypted": 16}


@pytest.mark.parametrize(
    ("role", "cluster", "zcl"),
    [
        ("hcalcs", ON_OFF, "01{tsn}01"),  # On
        ("hcalcs", ON_OFF, "01{tsn}02"),  # Toggle
        ("hcalcs", ON_OFF, "01{tsn}42000a000000"),  # On With Timed Off
        ("plcs", LEVEL, "01{tsn}04fe0000"),  # Move to Level with On/Off, full
        ("hcalcs", DRLC, "09{tsn}02" + "00"),  # Cancel All
        ("hcalcs", DRLC, "09{tsn}00" + load_control_event(77, 30, duty=100).hex()),
        ("hcalcs", CONFIG, "00{tsn}020100" + "1000"),  # boost association := false
        ("hcalcs", CONFIG, "00{tsn}020000" + "42" + "09" + b"Heat Pump".hex()),  # label
    ],
    ids=["on", "toggle", "timed-on", "level", "cancel-all", "drlc-event", "boost-assoc", "label"],
)
def test_unencrypted_frames_from_the_meter_are_refused(make_board, role, cluster, zcl):
    """The meter's EUI-64 without APS security (0x91 option 0x20 clear) is anyone holding the
    network key: refused, counted, logged, unanswered, and nothing moves."""
    board = make_board(role)
    meter = Meter(board, ESME)
    on_off(meter, 0x00)  # the meter, secured: a known state (open, remote)
    before = board.command("state")
    assert before.startswith("relay=open")
    status_before = board.command("status")
    assert board.command("watch on") == "ok watch on"
    tsn = meter.next_tsn()
    meter.send(cluster, bytes.fromhex(zcl.format(tsn=f"{tsn:02x}")), options=PLAIN)
    assert wait_for(lambda: rejected(board).get("unencrypted")) == 1
    assert board.command("state") == before
    assert board.output_lines == []
    frames = meter.receive(99, timeout=0.3)
    assert not any(is_response_to(f, tsn) for f in frames)
    assert not any(is_drlc_status(f) for f in frames)
    assert any(f"reject unencrypted cluster={cluster:04x}" in e for e in board.log(3))
    # label, boost association and commit count are untouched
    assert board.command("status").split()[1:5] == status_before.split()[1:5]


def test_an_unencrypted_read_is_answered_but_does_not_end_the_failsafe(make_board):
    """A read changes nothing, so it may come in the clear; but it does not prove the meter
    is there, so the switch stays in its fail-safe state until a secured frame arrives."""
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    tsn = meter.next_tsn()
    frames = meter.request(ON_OFF, bytes([0x00, tsn, 0x00, 0x00, 0x00]), options=PLAIN)
    answer = [f for f in frames if is_response_to(f, tsn)]
    assert answer and answer[0]["data"][2] == 0x01  # Read Attributes Response
    assert answer[0]["options"] & 0x20  # the switch answers APS-secured
    assert board.state()["source"] == "failsafe"
    assert rejected(board).get("unencrypted") is None
    confirm(board, meter)  # the same read, secured, ends it


def test_uncommissioned_switch_obeys_nobody(make_board):
    board = make_board("hcalcs", esme=None)
    meter = Meter(board, ESME)
    meter.send(ON_OFF, bytes([0x01, meter.next_tsn(), 0x01]))
    assert wait_for(lambda: rejected(board).get("unauthorised")) == 1
    assert board.state()["source"] == "failsafe"
    assert board.command(f"commission {ESME}") == f"ok commission {ESME}"
    on_off(meter, 0x01)
    assert board.state()["relay"] == "closed"


@pytest.mark.parametrize(
    ("zcl", "cluster", "status"),
    [
        ("01{tsn}40", ON_OFF, 0x81),  # off with effect: not supported
        ("01{tsn}0000", ON_OFF, 0x80),  # off with a stray byte: malformed
        ("01{tsn}42000a", ON_OFF, 0x80),  # on with timed off, cut short
        ("00{tsn}11", ON_OFF, 0x82),  # discover commands received: unsupported general cmd
        ("01{tsn}00800000", LEVEL, 0xC3),  # level control on an hcalcs: unsupported cluster
        ("01{tsn}00", 0x0300, 0xC3),  # colour control: not here
        ("053412{tsn}00", ON_OFF, 0x83),  # manufacturer-specific off: unsupported manuf. cmd
    ],
    ids=[
        "unsupported-cmd",
        "malformed",
        "short",
        "general",
        "level-on-hcalcs",
        "cluster",
        "manufacturer",
    ],
)
def test_bad_commands_get_the_zcl_status_and_change_nothing(make_board, zcl, cluster, status):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    before = board.command("state")
    tsn = meter.next_tsn()
    frame = bytes.fromhex(zcl.format(tsn=f"{tsn:02x}"))
    got = default_responses(meter.request(cluster, frame))
    assert got[-1] == (tsn, frame[-1] if frame[0] & 0x04 else frame[2], status)
    assert board.command("state") == before
    assert sum(rejected(board).values()) - rejected(board)["total"] == rejected(board)["total"]
    assert rejected(board)["total"] == 1


def test_plcs_move_to_level_and_report(make_board):
    board = make_board("plcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    frames = level(meter, 0x04, 127)
    assert board.command("state") == "relay=closed level=50 source=remote"
    assert (LEVEL, bytes([0x00, 0x00, 0x20, 127])) in reports(frames)
    level(meter, 0x00, 0)
    assert board.command("state") == "relay=closed level=0 source=remote"
    level(meter, 0x04, 0)  # with on/off: opens
    assert board.command("state") == "relay=open level=0 source=remote"


def test_plcs_level_transition_ramps(make_board):
    board = make_board("plcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    level(meter, 0x00, 0)  # to 0 at once
    assert board.state()["level"] == "0"
    level(meter, 0x04, 254, transition=10)  # 1.0 s ramp
    seen = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        now_level = int(board.state()["level"])
        seen.add(now_level)
        if now_level == 100:
            break
        time.sleep(0.05)
    assert 100 in seen and any(0 < x < 100 for x in seen)


def test_drlc_event_deactivates_for_a_duration_then_back_to_calendar(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    board.command(f"clock {T0}")
    confirm(board, meter)
    on_off(meter, 0x01)
    frames = drlc_command(meter, 0x00, load_control_event(0xCAFE, minutes=30))
    assert drlc_statuses(frames) == [(0xCAFE, 0x01), (0xCAFE, 0x02)]
    assert board.command("state") == "relay=open level=0 source=remote"
    board.command(f"clock {T0 + 29 * 60}")
    assert board.command("state") == "relay=open level=0 source=remote"
    assert board.command("boost") == "ok boost"  # the consumer opts out
    assert (0xCAFE, 0x04) in drlc_statuses(meter.until(is_drlc_status))
    assert board.command("state") == "relay=closed level=100 source=boost"
    board.command(f"clock {T0 + 30 * 60}")
    assert (0xCAFE, 0x03) in drlc_statuses(meter.until(is_drlc_status))
    assert board.command("state") == "relay=closed level=100 source=boost"
    board.command(f"clock {T0 + 29 * 60 + 3600}")  # the boost (60 min) ends too
    assert board.command("state") == "relay=closed level=100 source=calendar"
    assert any("drlc event=51966 status=03" in e for e in board.log(20))


def test_drlc_event_sets_the_plcs_level_and_can_be_cancelled(make_board):
    board = make_board("plcs")
    meter = Meter(board, ESME)
    board.command(f"clock {T0}")
    confirm(board, meter)
    drlc_command(meter, 0x00, load_control_event(7, minutes=60, adjustment=-60))
    assert board.command("state") == "relay=closed level=40 source=remote"
    statuses = drlc_statuses(drlc_command(meter, 0x00, load_control_event(8, minutes=60, duty=25)))
    assert statuses == [(8, 0x01), (7, 0x07), (8, 0x02)]  # received, 7 superseded, started
    assert board.command("state") == "relay=closed level=25 source=remote"
    unknown = struct.pack("<IHBBI", 99, 0x0400, 0, 0, 0)
    assert drlc_statuses(drlc_command(meter, 0x01, unknown)) == [(99, 0xFD)]
    cancel = struct.pack("<IHBBI", 8, 0x0400, 0, 0, 0)
    assert drlc_statuses(drlc_command(meter, 0x01, cancel)) == [(8, 0x06)]
    assert board.command("state") == "relay=closed level=100 source=calendar"


def test_drlc_future_event_and_cancel_all(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    board.command(f"clock {T0}")
    confirm(board, meter)
    start = T0 - ZIGBEE_EPOCH_UNIX + 600
    frames = drlc_command(meter, 0x00, load_control_event(5, minutes=10, start=start))
    assert drlc_statuses(frames) == [(5, 0x01)]
    assert board.state()["source"] == "calendar"
    board.command(f"clock {T0 + 600}")
    assert board.command("state") == "relay=open level=0 source=remote"
    assert drlc_statuses(meter.until(is_drlc_status)) == [(5, 0x02)]
    assert drlc_statuses(drlc_command(meter, 0x02, b"\x00")) == [(5, 0x06)]
    assert board.command("state") == "relay=closed level=100 source=calendar"


def test_drlc_event_for_another_device_class_is_ignored(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    meter.send(
        DRLC,
        bytes([0x09, meter.next_tsn(), 0x00])
        + load_control_event(3, minutes=10, device_class=0x0001),
    )  # HVAC
    assert wait_for(lambda: rejected(board).get("drlc-device-class")) == 1
    assert board.state()["source"] == "calendar"


def test_calendar_gives_the_state_by_time_of_day(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    assert board.command("calendar 0700:closed:100,2300:open:0") == "ok calendar 2"
    day = T0 - T0 % 86400
    board.command(f"clock {day + 6 * 3600}")  # 06:00: still last night's 23:00 entry
    assert board.command("state") == "relay=open level=0 source=calendar"
    board.command(f"clock {day + 8 * 3600}")
    assert board.command("state") == "relay=closed level=100 source=calendar"
    board.command(f"clock {day + 23 * 3600 + 60}")
    assert board.command("state") == "relay=open level=0 source=calendar"


def write_config(meter: Meter, attr: int, type_id: int, value: bytes) -> list[dict]:
    frames = meter.request(
        CONFIG, bytes([0x00, meter.next_tsn(), 0x02]) + struct.pack("<HB", attr, type_id) + value
    )
    return [f for f in frames if f["data"][2] == 0x04]


def test_boost_overrides_until_it_expires_and_srv_7_10_refuses_it(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    board.command(f"clock {T0}")
    confirm(board, meter)
    on_off(meter, 0x00)
    assert board.command("boost") == "ok boost"
    assert board.command("state") == "relay=closed level=100 source=boost"
    board.command(f"clock {T0 + 3600}")  # the default boost lasts 60 minutes
    assert board.command("state") == "relay=open level=0 source=remote"
    rsp = write_config(meter, 0x0001, 0x10, b"\x00")  # remove the boost association
    assert rsp and rsp[0]["data"][3:] == b"\x00"
    assert board.command("boost") == "refused boost no-boost-association"
    assert board.command("state") == "relay=open level=0 source=remote"
    assert any("boost-refused no-boost-association" in e for e in board.log(5))


def read_attribute(meter: Meter, cluster: int, attr: int) -> bytes:
    tsn = meter.next_tsn()
    frames = meter.request(cluster, bytes([0x00, tsn, 0x00]) + struct.pack("<H", attr))
    assert is_response_to(frames[-1], tsn) and frames[-1]["data"][2] == 0x01
    return frames[-1]["data"][3:]


def test_label_is_readable_over_the_han_and_strict(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    label = LABEL.encode()
    assert (
        read_attribute(meter, CONFIG, 0x0000) == b"\x00\x00\x00\x42" + bytes([len(label)]) + label
    )
    rsp = write_config(meter, 0x0000, 0x42, b"\x08My Tesla")
    assert rsp[0]["data"][3:] == bytes([0x87, 0x00, 0x00])  # INVALID_VALUE, attribute 0
    assert read_attribute(meter, CONFIG, 0x0000).endswith(label)
    rsp = write_config(meter, 0x0000, 0x42, b"\x09heat pump")
    assert rsp[0]["data"][3:] == b"\x00"
    assert read_attribute(meter, CONFIG, 0x0000).endswith(b"Heat Pump")
    assert board.command("label Garden Shed") == "error label not-in-vocabulary"
    assert board.command("label electric vehicle charger") == "ok label " + LABEL


def test_lenient_labels_and_missing_label_is_logged(make_board):
    board = make_board("hcalcs", label=None, extra=["--lenient-labels"])
    assert "label=<unset>" in board.command("status")
    assert any("label-missing" in e for e in board.log(5))
    assert board.command("label Garden Shed") == "ok label Garden Shed"


def test_firmware_version_is_readable_over_the_han(make_board):
    board = make_board("plcs")
    meter = Meter(board, ESME)
    version = board.command("version").split()[1:3]
    record = read_attribute(meter, BASIC, 0x4000)
    assert record[:4] == b"\x00\x40\x00\x42"
    assert record[5:].decode() == " ".join(version)


def test_commanded_state_label_and_log_survive_a_power_cut(make_board):
    board = make_board("plcs")
    meter = Meter(board, ESME)
    confirm(board, meter)
    level(meter, 0x04, 76)  # 30 %
    board.command("label heat pump")
    synced = int(board.log(1)[0].split()[1])
    assert board.command("sync") == "ok sync"  # the log's batch to flash
    board.command("label storage heater")  # its log entry waits in RAM ...
    board.command("label heat pump")
    last_seq = int(board.log(1)[0].split()[1])
    board.power_cut()  # ... and is lost with the power; the state is not (committed)
    board.power_on()
    assert board.command("state") == "relay=open level=0 source=failsafe"
    confirm(board, Meter(board, ESME))
    assert board.command("state") == "relay=closed level=30 source=remote"
    assert "label=Heat_Pump" in board.command("status")
    log = board.log(50)
    seqs = [int(e.split()[1]) for e in log]
    assert seqs == sorted(seqs) and synced in seqs and last_seq not in seqs
    # numbers used by the lost entries are never given again
    assert [e.split()[3] for e in log if int(e.split()[1]) > synced][0] == "boot"
    assert min(s for s in seqs if s > synced) > last_seq
