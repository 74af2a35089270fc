"""Power-safe storage, the event log ring and the switch state machine, on the unix port."""

from __future__ import annotations

import pytest

DAY = 86400


def test_records_round_trip(port, tmp_path):
    payloads = [b"", b"x", bytes(range(256)) * 4, b'{"gen": 3}']
    assert port.call("scenarios.storage_roundtrip", str(tmp_path), payloads) == payloads


@pytest.mark.parametrize("keep", [0, 1, 5, 8, 9, 20, 26])
def test_a_torn_record_is_refused_never_half_read(port, tmp_path, keep):
    # 8-byte header + 19-byte payload: every cut short of 27 bytes must read as "nothing".
    assert port.call("scenarios.storage_torn", str(tmp_path), keep) is None


def test_complete_tmp_copy_is_used_when_the_record_is_torn(port, tmp_path):
    assert port.call("scenarios.storage_torn_with_tmp", str(tmp_path)) == b"new"


def test_log_ring_keeps_the_newest_and_continues_the_sequence(port, tmp_path):
    next_seq, entries = port.call("scenarios.log_wrap", str(tmp_path / "log"), 8, 21, 50)
    assert next_seq == 22
    assert [e[0] for e in entries] == list(range(14, 22))
    assert entries[-1] == [21, 77, "kind n=20"]


def test_a_torn_log_record_is_skipped(port, tmp_path):
    next_seq, seqs = port.call("scenarios.log_torn", str(tmp_path / "log"), 7)
    assert seqs == [1, 2, 3, 4, 5, 6, 8, 9, 10]
    assert next_seq == 11
    next_seq, seqs = port.call("scenarios.log_torn", str(tmp_path / "log2"), 10)
    assert seqs == list(range(1, 10)) and next_seq == 10  # the newest torn: reused


def test_state_machine_precedence_and_expiry(port):
    t = 10 * DAY
    steps = [
        [t, "noop"],  # fail-safe after boot
        [t, "boost"],  # refused in fail-safe
        [t, "confirm"],  # calendar: empty = closed
        [t, "command", False, 0, t + 600],  # remote off for 10 minutes
        [t + 60, "boost"],  # accepted
        [t + 60, "noop"],  # boost wins
        [t + 60 + 3600, "noop"],  # boost over; remote expired too
        [t + 4000, "command", True, 40, 0],  # remote with no expiry (hcalcs: 100)
        [t + 4000, "allow_boost", False],
        [t + 4001, "boost"],  # refused: association removed
        [t + 4002, "reset"],  # SRV 7.8: back to the calendar
        [t + 4002, "calendar", [[0, 0, 0], [720, 1, 100]]],  # 01:06 -> open
        [t + 3600, "noop"],  # 01:00 -> the 00:00 entry: open
        [t + 13 * 3600, "noop"],  # 13:00 -> closed
    ]
    assert port.call("scenarios.state_timeline", "hcalcs", steps) == [
        [False, 0, "failsafe"],
        "failsafe",
        [True, 100, "calendar"],
        [False, 0, "remote"],
        None,
        [True, 100, "boost"],
        [True, 100, "calendar"],
        [True, 100, "remote"],
        [True, 100, "remote"],
        "no-boost-association",
        [True, 100, "calendar"],
        [False, 0, "calendar"],
        [False, 0, "calendar"],
        [True, 100, "calendar"],
    ]


def test_plcs_keeps_levels(port):
    t = 10 * DAY
    steps = [[t, "confirm"], [t, "command", True, 40, 0], [t, "command", False, 40, 0]]
    assert port.call("scenarios.state_timeline", "plcs", steps) == [
        [True, 100, "calendar"],
        [True, 40, "remote"],
        [False, 40, "remote"],
    ]


def test_littlefs_cut_after_every_block_write_leaves_old_or_new(port, tmp_path):
    """Flash-level cuts (the SIGKILL test cannot tear a page): littlefs on a file-backed
    block device stops writing after N block writes, for every N until the writes finish."""
    image = str(tmp_path / "flash.img")
    seen = set()
    cut = 0
    while True:
        completed, writes, state, entries = port.call("scenarios.littlefs_cut", image, cut)
        assert state in (b"generation-A", b"generation-B"), (cut, state)
        seqs = [e[0] for e in entries]
        assert seqs[:3] == [1, 2, 3] and seqs == sorted(seqs), (cut, entries)
        assert [e[1] for e in entries[:3]] == ["before 0", "before 1", "before 2"]
        if state == b"generation-A":
            assert seqs == [1, 2, 3], "a log entry committed after a state that was not"
        seen.add(state)
        if completed:
            assert state == b"generation-B" and seqs == [1, 2, 3, 4, 5]
            break
        cut += 1
        assert cut < 500, "the writes never finished"
    assert seen == {b"generation-A", b"generation-B"} and cut > 3
