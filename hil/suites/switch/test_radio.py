"""The radio bring-up, with the rig playing the board's XBee 3: at every boot the firmware
reads the radio's settings (AP, AO, EE, EO, ZS) before it goes on, says what it found on the
console, and leaves a radio that is right alone (no setting written, no WR: the radio's
flash wears too). The other paths (settings to change, transparent mode, a silent radio) are
in tests/firmware/test_fw_radio_setup.py: they need more heap than the rig's 104 KB."""

from __future__ import annotations

import time

from hil.suites.switch import steps


def test_the_radio_is_checked_at_boot_and_a_right_one_gets_no_writes(dut, han, power):
    stats = han.radio.stats
    sets, saves, asked = stats["at_sets"], stats["nv_writes"], stats["at_commands"]
    dut.console.radio_lines.clear()
    power.off()
    power.on()
    steps.confirm(han)
    deadline = time.monotonic() + 10.0
    while not dut.console.radio_lines and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(dut.console.radio_lines) == ["radio: ok AP=2 AO=1 EE=1 EO=2 ZS=2"]
    assert stats["at_commands"] - asked >= 5  # it asked
    assert (stats["at_sets"], stats["nv_writes"]) == (sets, saves)  # and wrote nothing
    assert dut.console.command("radio") == "radio state=ok silent=0 refused=0"
