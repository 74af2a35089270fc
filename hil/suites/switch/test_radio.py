"""The radio bring-up, with the rig playing the board's XBee 3: at every boot the firmware
reads the radio's settings (AP, AO, EE, EO, ZS) before it goes on, says what it found on the
console, and leaves a radio that is right alone (no setting written, no WR: the radio's
flash wears too). The other paths (settings to change, transparent mode, a silent radio) are
in tests/firmware/test_fw_radio_setup.py: they need more heap than the rig's 104 KB."""

from __future__ import annotations

import time

from hil.console import ConsoleTimeout
from hil.dut import DEFAULT_LABEL
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


def _radio_lines_until(dut, text: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in dut.console.radio_lines):
        assert time.monotonic() < deadline, list(dut.console.radio_lines)
        try:
            dut.console.command("ping radio")  # the console keeps the radio lines apart
        except ConsoleTimeout:
            pass  # it is restarting itself after the setup: the lines come once it is back
        time.sleep(0.2)
    return list(dut.console.radio_lines)


RESTART = "radio: right now; restarting without the setup"


def _label_written_over_the_han(dut, han) -> None:
    """A label write (a commit, the allocation that failed on a heap fragmented by the
    setup code before the board restarted after a setup) is answered, then put back."""
    label = steps.ATTR_LABEL
    assert steps.write(han, steps.CONFIG, (label, steps.T_STRING, "heat pump")) == [(0, None)]
    assert steps.write(han, steps.CONFIG, (label, steps.T_STRING, DEFAULT_LABEL)) == [(0, None)]
    assert not any("MemoryError" in line for line in dut.console.log(20))


def test_a_radio_in_transparent_mode_is_found_set_and_used(dut, han, power):
    """A radio left in transparent mode (AP=0, saved so): the board finds it with +++ in
    command mode, sets API mode 2 and saves it, checks again, and goes on."""
    radio = han.radio
    saves = radio.stats["nv_writes"]
    power.off()
    radio.settings["AP"] = radio.saved["AP"] = 0
    dut.console.radio_lines.clear()
    power.on()
    lines = _radio_lines_until(dut, "radio: ok", 30.0)
    assert lines == [
        "radio: AP=0 -> set AP=2 (command mode, 115200 baud)",
        RESTART,  # the board resets itself and finds the radio right on the resident path
        "radio: ok AP=2 AO=1 EE=1 EO=2 ZS=2",
    ]
    assert radio.settings["AP"] == radio.saved["AP"] == 2
    assert radio.stats["nv_writes"] == saves + 1  # one save, in command mode
    dut.after_boot()  # it reset itself: the rig's console settings (watch on) again
    steps.confirm(han)  # and then it is used: the meter's read is answered
    assert dut.console.command("radio") == "radio state=ok silent=0 refused=0"
    assert dut.console.command("boot").startswith("boot reset_cause=soft ")
    _label_written_over_the_han(dut, han)


def test_a_silent_radio_is_reported_and_the_board_goes_on_once_it_answers(dut, han, power):
    """An unwired or unpowered radio: reported on the console and counted, nothing sent as if
    joined; once it answers, the next try finds it."""
    radio = han.radio
    power.off()
    radio.silent = True
    dut.console.radio_lines.clear()
    try:
        power.on()
        lines = _radio_lines_until(dut, "no answer on uart", 30.0)
        assert lines[-1] == (
            "radio: no answer on uart at 115200/9600 baud (check wiring, API mode); retry in 5 s"
        )
        assert dut.console.command("radio") == "radio state=quiet silent=1 refused=0"
    finally:
        radio.silent = False
    assert _radio_lines_until(dut, "radio: ok", 30.0)[-2] == RESTART
    dut.after_boot()  # it reset itself: the rig's console settings (watch on) again
    steps.confirm(han)
    # restarted: the count was in RAM (the log on flash says "radio quiet")
    assert dut.console.command("radio") == "radio state=ok silent=0 refused=0"
    assert dut.console.command("boot").startswith("boot reset_cause=soft ")
    _label_written_over_the_han(dut, han)
