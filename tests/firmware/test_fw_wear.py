"""Flash wear on the running virtual board: its flash a littlefs image of the Pico's geometry
that counts erases (firmware/hal/flashcount.py, the block device bench/firmware_wear.py
measures with), read with the console's `wear`. The budget of issue 16: at most 1.0 erase an
On/Off command, 0.02 a rejected frame."""

from __future__ import annotations

from fw_constants import ESME, STRANGER
from fw_oracle import Meter, escape_frame, rx_explicit

ON_OFF = 0x0006
COMMANDS = 20
REJECTED = 300
# The counting device and its module are the rig's, not the firmware's: their qstrs take the
# 64-bit port's qstr pool past its step (~7 KB), so this board gets the room back.
WEAR_HEAP = "120K"


def wear(board) -> int:
    reply = board.command("wear")
    assert reply.startswith("wear erases="), reply
    return int(reply.split()[1].split("=")[1])


def test_erases_per_command_and_per_rejected_frame_are_within_budget(make_board, tmp_path):
    board = make_board("hcalcs", power_on=False, heap=WEAR_HEAP)
    board.wear_image = tmp_path / "flash.img"
    board.power_on(timeout=30.0)
    meter = Meter(board, ESME)
    meter.request(ON_OFF, bytes([0x00, meter.next_tsn(), 0x00, 0x00, 0x00]))
    assert board.command("sync") == "ok sync"
    before = wear(board)
    for i in range(COMMANDS):
        tsn = meter.next_tsn()
        meter.request(ON_OFF, bytes([0x01, tsn, i % 2]))
        assert board.command("sync") == "ok sync"  # each command's log entry on its own
    per_command = (wear(board) - before) / COMMANDS
    assert 0 < per_command <= 1.0, per_command
    print(f"erases_per_command={per_command:.3f}")
    before = wear(board)
    bad = escape_frame(rx_explicit(STRANGER, bytes([0x01, 0x00, 0x01]), ON_OFF))
    for _ in range(REJECTED // 20):
        board.write_radio(bad * 20)
        board.command("ping")  # let the board take them
    assert board.command("advance 61000").startswith("ok advance")  # the summary minute
    assert board.command("sync") == "ok sync"
    assert f"rejected total={REJECTED}" in board.command("rejected")
    assert any(" reject" in e for e in board.log(10))  # logged: in full, then a summary
    per_rejected = (wear(board) - before) / REJECTED
    assert per_rejected <= 0.02, per_rejected
    print(f"erases_per_rejected_frame={per_rejected:.4f}")
    # the image is the board's flash: its state survives a power cut
    board.power_cut()
    board.power_on(timeout=30.0)
    assert board.command("wear").startswith("wear erases=")
    assert any(" boot " in f" {e} " for e in board.log(5))
