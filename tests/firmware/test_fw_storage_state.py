"""Power-safe storage, the event log ring and the switch state machine, on the unix port."""

from __future__ import annotations

import pytest

DAY = 86400


def test_records_round_trip(port, tmp_path):
    payloads = [b"", b"x", bytes(range(256)) * 4, b'{"gen": 3}']
    assert port.call("scenarios.storage_roundtrip", str(tmp_path), payloads) == payloads


@pytest.mark.parametrize("generations", [2, 3])
@pytest.mark.parametrize("keep", [0, 1, 5, 11, 12, 20, 30])
def test_a_torn_slot_gives_the_previous_generation_never_half_read(
    port, tmp_path, keep, generations
):
    # 12-byte header + 20-byte payload: every cut short of 32 bytes must read as the
    # generation before, and the next save rewrites the torn slot, not the good one.
    found, after, reused = port.call("scenarios.storage_torn", str(tmp_path), keep, generations)
    assert found == f"generation-{generations - 2}-payload".encode()
    assert after == b"after-the-cut" and reused


def test_both_slots_torn_read_as_nothing(port, tmp_path):
    assert port.call("scenarios.storage_both_torn", str(tmp_path)) is None


def test_log_segments_keep_the_newest_and_continue_the_sequence(port, tmp_path):
    # 23-byte records ("kind n=NN"), 3 to a 70-byte segment, 4 segments kept.
    next_seq, entries, files = port.call("scenarios.log_wrap", str(tmp_path / "log"), 70, 4, 30, 50)
    assert files == 4
    assert [e[0] for e in entries] == list(range(19, 31))
    assert entries[-1] == [30, 77, "kind n=29"]
    assert next_seq == 31 + 70 // 14  # past any number a lost batch may have used


# Segments of three 16-byte records ("e N"): 1-3, 4-6, 7-9, and 10 alone in the newest.
TEARS = {
    (1, 0): [4, 5, 6],
    (1, 5): [4, 5, 6],
    (1, 16): [5, 6],
    (1, 31): [5, 6],
    (1, 32): [6],
    (1, 47): [6],
    (3, 0): [10],  # the newest segment: the next entry must go to a new one
    (3, 15): [10],
}


@pytest.mark.parametrize(("segment", "tear_at"), list(TEARS), ids=[f"{s}-{t}" for s, t in TEARS])
def test_a_torn_log_record_ends_its_segment_and_the_log_goes_on(port, tmp_path, segment, tear_at):
    first, again = port.call("scenarios.log_torn", str(tmp_path / "log"), segment, tear_at)
    lost = TEARS[(segment, tear_at)]
    assert first == [s for s in range(1, 11) if s not in lost]
    seqs = [e[0] for e in again]
    assert seqs == first + [seqs[-1]] and seqs[-1] > 10
    assert again[-1][1] == "after cut"


def test_log_entries_are_batched_in_ram_and_never_renumbered(port, tmp_path):
    listed, at_4999, at_5000, after_fill, rebooted, next_seq = port.call(
        "scenarios.log_batches", str(tmp_path / "log")
    )
    assert listed == [1, ["a", "b"]]  # a boot's first entry is written at once, "b" waits
    assert (at_4999, at_5000) == (1, 2)
    assert after_fill == 3  # the ninth entry did not fit: the first eight went out together
    assert rebooted == [[1, "a"], [2, "b"]] + [[3 + i, f"c{i}"] for i in range(8)]
    # "c8" (11) and "lost" (12) were in RAM: numbering resumes past any a batch could hold
    assert next_seq == 11 + 120 // 14 and next_seq > 12


@pytest.mark.parametrize("appends, tick_at", [(0, 3), (6, 0), (12, 0), (12, 5), (30, 14)])
def test_log_listing_misses_nothing_when_a_flush_comes_mid_walk(port, tmp_path, appends, tick_at):
    """The HIL logs lacked a boot's fail-safe transition under load: the batch filled while
    `log` was listing, its entries went to flash behind the walk and out of the listing."""
    before, listed = port.call(
        "scenarios.log_listing_across_flushes", str(tmp_path / "log"), appends, tick_at
    )
    assert listed == sorted(set(listed)), listed  # in order, none twice
    assert listed[: len(before)] == before, (before, listed)  # all that was there, no gap
    assert listed == list(range(listed[0], listed[-1] + 1)), listed  # and what came on


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
            assert state == b"generation-B" and seqs == [1, 2, 3, 12, 13]
            break
        cut += 1
        assert cut < 500, "the writes never finished"
    assert seen == {b"generation-A", b"generation-B"} and cut > 3
