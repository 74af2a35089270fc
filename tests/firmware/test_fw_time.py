"""Wall time after a power cut, on the virtual board.

A Pico's RTC restarts at 2021-01-01 at every power-up (`--rtc 1609459200` on the unix board).
The switch must not take that for the time: a curtailment in force at the cut ends at most
the cut's length late while it has no wall time (it resumes from the last time it saw), and
exactly on time once it has read the meter's clock (ZigBee Time cluster). The board's RTC runs
from `--rtc`, and `advance` moves it (and every timer of the app) forward without waiting.
"""

from __future__ import annotations

import struct

import pytest
from fw_constants import ESME
from fw_oracle import Meter

from emulator.clock import ZIGBEE_EPOCH_UNIX

ON_OFF, DRLC, CONFIG, TIME = 0x0006, 0x0701, 0xFC00, 0x000A
T0 = 1_800_000_000  # unix seconds, 2027-01-15 08:00 UTC: a valid RTC before the cut
PICO_RTC_AFTER_POWER_UP = 1_609_459_200  # 2021-01-01T00:00:00Z
PLAIN = 0x01  # receive options without APS encryption


def curtailment(issuer: int, minutes: int) -> bytes:
    """DRLC Load Control Event, start now, duty cycle 0 (the HCALCS opens)."""
    body = struct.pack(
        "<IHBIHBBBhhbBB",
        *(issuer, 0x0400, 0, 0, minutes, 7, 0xFF, 0xFF, -32768, -32768, -128, 0, 0),
    )
    return body


@pytest.fixture(params=[None, 20_000], ids=["ticks-64bit", "ticks-wrap-after-20s"])
def wrap(request):
    """None: the unix port's ticks (period 2^62). A number: a 32-bit port's 2^30 ms period,
    wrapping that many ms after each boot, so every `advance` below crosses the wrap."""
    return request.param


def boot(board, rtc: int, wrap: int | None) -> tuple[Meter, int]:
    """Power on with the RTC at `rtc`; the meter is heard. (meter, TSN of the board's Time
    read, which it sends at start-up)."""
    board.power_on(
        boot_args=["--rtc", str(rtc)] + ([] if wrap is None else ["--ticks-wrap", str(wrap)])
    )
    meter = Meter(board, ESME)
    tsn = time_read(meter)
    meter.request(ON_OFF, bytes([0x00, meter.next_tsn(), 0x00, 0x00, 0x00]))  # the meter is there
    return meter, tsn


def time_read(meter: Meter) -> int:
    """The TSN of the board's Read Attributes (Time, TimeStatus) on the Time cluster."""
    frames = meter.until(lambda f: f["cluster"] == TIME, timeout=5.0)
    data = frames[-1]["data"]
    assert data[0] == 0x00 and data[2] == 0x00  # profile-wide Read Attributes, to the server
    assert data[3:] == bytes([0x00, 0x00, 0x01, 0x00])
    return data[1]


def answer_time(meter: Meter, tsn: int, unix: int, status: int = 0x03, **kw) -> None:
    """Read Attributes Response: Time (UTCTime, ZigBee seconds), TimeStatus (master, synced)."""
    records = struct.pack("<HBBI", 0x0000, 0, 0xE2, unix - ZIGBEE_EPOCH_UNIX)
    records += struct.pack("<HBBB", 0x0001, 0, 0x18, status)
    meter.send(TIME, bytes([0x18, tsn, 0x01]) + records, **kw)


def curtailed_then_cut(make_board, tmp_path, warned: bool, wrap: int | None):
    """A 30-minute curtailment from T0; 10 minutes in, the power goes (after the mains-sense
    warning when `warned`). Returns the board, powered off."""
    board = make_board("hcalcs", state_dir=tmp_path / "flash", power_on=False)
    meter, tsn = boot(board, T0, wrap)
    answer_time(meter, tsn, T0)  # the meter agrees: the clock is wall time
    meter.request(DRLC, bytes([0x09, meter.next_tsn(), 0x00]) + curtailment(0xC0, 30))
    assert board.command("state") == "relay=open level=0 source=remote"
    assert board.command("advance 600000") == "ok advance 600000"
    if warned:
        assert board.command("mains off") == "ok mains off"  # the hold-up commit
    board.power_cut()
    return board


def state_after(board, seconds: int) -> str:
    board.command(f"advance {seconds * 1000}")
    return board.command("state")


@pytest.mark.parametrize("warned", [True, False], ids=["mains-sense", "sudden"])
def test_without_the_meters_time_a_curtailment_ends_at_most_the_cut_late(
    make_board, tmp_path, warned, wrap
):
    board = curtailed_then_cut(make_board, tmp_path, warned, wrap)
    meter, _ = boot(board, PICO_RTC_AFTER_POWER_UP, wrap)  # the meter never answers the Time read
    assert board.command("state") == "relay=open level=0 source=remote"
    # 20 minutes were left at the cut: on the board's own clock it ends 20 minutes after
    # boot, i.e. the cut's length late (sudden: up to the 30 s between saved times more).
    slack = 0 if warned else 30
    assert state_after(board, 20 * 60 - slack - 5) == "relay=open level=0 source=remote"
    assert state_after(board, slack + 10) == "relay=closed level=100 source=calendar"
    frames = meter.receive(99, timeout=0.5)
    statuses = [f["data"][3:8] for f in frames if f["cluster"] == DRLC]
    assert bytes([0xC0, 0, 0, 0, 0x03]) in statuses  # Report Event Status: completed
    # it kept asking the meter for the time (once a minute while it has none)
    assert any(f["cluster"] == TIME for f in frames)


def test_the_meters_time_ends_a_curtailment_exactly_on_time(make_board, tmp_path, wrap):
    board = curtailed_then_cut(make_board, tmp_path, True, wrap)
    meter, tsn = boot(board, PICO_RTC_AFTER_POWER_UP, wrap)
    cut_length = 300
    answer_time(meter, tsn, T0 + 600 + cut_length)  # 15 minutes left
    assert any("time utc=" in e and "(first)" in e for e in board.log(5))
    assert state_after(board, 15 * 60 - 5) == "relay=open level=0 source=remote"
    assert state_after(board, 10) == "relay=closed level=100 source=calendar"


def test_a_curtailment_that_ran_out_during_the_cut_ends_when_the_time_is_read(
    make_board, tmp_path, wrap
):
    board = curtailed_then_cut(make_board, tmp_path, True, wrap)
    meter, tsn = boot(board, PICO_RTC_AFTER_POWER_UP, wrap)
    assert board.command("state") == "relay=open level=0 source=remote"
    answer_time(meter, tsn, T0 + 3600)  # a 50-minute cut: it ended long ago
    assert Meter(board, ESME).until(lambda f: f["cluster"] == DRLC)  # completed, reported
    assert board.command("state") == "relay=closed level=100 source=calendar"


def test_a_calendar_waits_for_wall_time_at_the_failsafe_output(make_board, tmp_path, wrap):
    board = make_board("hcalcs", state_dir=tmp_path / "flash", power_on=False)
    boot(board, T0, wrap)
    assert board.command("calendar 0000:closed:100,1200:open:0") == "ok calendar 2"
    assert board.command("state") == "relay=closed level=100 source=calendar"  # 08:00
    board.power_cut()
    meter, tsn = boot(board, PICO_RTC_AFTER_POWER_UP, wrap)
    assert board.command("state") == "relay=open level=0 source=failsafe"
    answer_time(meter, tsn, T0 + 3600, **{"options": PLAIN})  # not the meter's link key
    assert board.command("state") == "relay=open level=0 source=failsafe"
    answer_time(meter, tsn, T0 + 5 * 3600, status=0x00)  # neither master nor synchronised
    assert board.command("state") == "relay=open level=0 source=failsafe"
    answer_time(meter, tsn, T0 + 5 * 3600)  # 13:00
    assert board.command("state") == "relay=open level=0 source=calendar"
    counts = dict(p.split("=") for p in board.command("rejected").split()[1:])
    assert counts["unencrypted"] == "1" and counts["time-unsynchronised"] == "1"


def test_the_unix_board_ticks_like_a_32_bit_port_when_asked(port):
    """--ticks-wrap: a 2^30 ms period, wrapping soon after boot (what the tests above cross)."""
    before, after, forward, backward = port.call("scenarios.ticks_across_the_wrap", 20_000, 60_000)
    assert 2**30 - 20_500 < before < 2**30 and after < 41_000  # wrapped to a small count
    assert 59_990 <= forward <= 61_000 and backward == -forward


def test_a_level_transition_ramps_across_the_wrap(make_board, wrap):
    """A 60 s Move to Level started before the ticks wrap is half way after 30 s and done
    after 61 s, whichever side of the wrap (the ramp is timed with ticks_diff)."""
    board = make_board("plcs", power_on=False)
    meter, _ = boot(board, T0, wrap)
    level = 0x0008
    meter.request(level, bytes([0x01, meter.next_tsn(), 0x04, 0x00, 0x00, 0x00]))  # to 0 now
    assert board.state()["level"] == "0"
    meter.request(level, bytes([0x01, meter.next_tsn(), 0x04, 0xFE, 0x58, 0x02]))  # 600 x 0.1 s
    halfway = int(state_after(board, 30).split()[1].split("=")[1])
    assert 45 <= halfway <= 55, halfway
    assert state_after(board, 31) == "relay=closed level=100 source=remote"


def test_identify_counts_down_across_the_wrap(make_board, wrap):
    """Identify for 60 s: the Identify Query after 30 s (across the wrap) says ~30 s are
    left; after 61 s it says nothing is (a plain Default Response)."""
    board = make_board("hcalcs", power_on=False)
    meter, _ = boot(board, T0, wrap)
    identify = 0x0003
    meter.request(identify, bytes([0x01, meter.next_tsn(), 0x00, 60, 0]))
    board.command("advance 30000")
    meter.send(identify, bytes([0x01, meter.next_tsn(), 0x01]))
    answer = meter.until(lambda f: f["cluster"] == identify)[-1]["data"]
    assert answer[2] == 0x00 and 29 <= answer[3] | answer[4] << 8 <= 30, answer.hex()
    board.command("advance 31000")
    tsn = meter.next_tsn()
    frames = meter.request(identify, bytes([0x01, tsn, 0x01]))
    assert frames[-1]["data"][2:] == bytes([0x0B, 0x01, 0x00])  # Default Response, success
