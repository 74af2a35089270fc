"""The console and the watchdog: typing on the console while the meter sends commands never
stalls the board, and a board whose task hangs is reset by its watchdog and comes back.

The hang needs the board's test hooks (`hang console`: one task stops while the rest of the
loop runs on; `hang loop`: everything stops): on by default on the virtual DUT, config
`"test_hooks": true` on a physical board, else these tests are skipped and say so.
"""

from __future__ import annotations

import threading
import time

import pytest

from hil.han import HanError
from hil.suites.switch import steps
from hil.suites.switch.steps import ON_OFF

TASK_DEADLINE_S = 2  # a task checks in at least this often (firmware/main.py)


def _boot(dut) -> dict[str, str]:
    fields = dut.console.fields("boot")
    assert "reset_cause" in fields, f"'boot' answered {fields}"
    return fields


def _period_s(dut) -> float:
    """The watchdog period: the virtual DUT's, else the longest a board allows (the RP2040's
    8.388 s; the firmware's default is 8 s on rp2 and esp32)."""
    board = dut.board
    return (board.watchdog_ms or 8000) / 1000 if board is not None else 8.388


def _hang(dut, what: str) -> None:
    reply = dut.console.command(f"hang {what}")
    if reply.startswith("error unknown"):
        pytest.skip('the board\'s test hooks are off (config "test_hooks": true)')
    assert reply == f"ok hang {what}"


def _back_after_reset(dut, timeout: float) -> float:
    """Seconds until the board answers again after a hang (it does once the watchdog has
    reset it), with the rig's hooks (watch, boot hooks) put back."""
    start = time.monotonic()
    dut.wait_boot(timeout)
    took = time.monotonic() - start
    dut.after_boot()
    return took


def test_typing_on_the_console_while_commands_arrive(dut, han, record_property):
    """A line typed a character at a time, pausing longer than the watchdog period between
    characters, while the meter sends On/Off commands: each is answered, the typed line is
    one command once Enter comes, and the watchdog never resets the board."""
    before = _boot(dut)["watchdog_resets"]
    pause = _period_s(dut) * 1.2
    stop = threading.Event()
    answered: list[float] = []
    failures: list[str] = []

    def meter() -> None:
        names = ("off", "on")
        while not stop.is_set():
            name = names[len(answered) % 2]
            try:
                answer = han.request(ON_OFF, steps.on_off(name, han.next_tsn()))
            except HanError as exc:
                failures.append(f"{name}: {exc}")
                return
            if steps.default_status(answer) != 0:
                failures.append(f"{name}: status {steps.default_status(answer)}")
            answered.append(answer.elapsed_s)
            time.sleep(0.2)

    sender = threading.Thread(target=meter, daemon=True)
    sender.start()
    try:
        for part in ("s", "t", "ate"):  # two pauses with half a line typed
            dut.console.channel.write(part.encode())
            time.sleep(pause if part != "ate" else 0.2)
    finally:
        stop.set()
        sender.join(timeout=15)
    reply = dut.console.command("")  # the Enter
    assert reply.startswith("relay=") and " source=" in reply, reply
    assert failures == []
    assert len(answered) >= 5, "the meter's commands stalled while the line was typed"
    assert _boot(dut)["watchdog_resets"] == before
    record_property("console.pause_s", round(pause, 2))
    record_property("console.commands_answered", len(answered))
    record_property("console.command_p_max_s", round(max(answered), 3))


def test_a_hung_task_resets_the_board(dut, han, record_property):
    """One task stops while the loop runs on: the per-task check stops feeding, the board is
    reset within the task's deadline plus the watchdog period and comes back saying why,
    fail-safe at boot and then in its committed state."""
    answer = han.request(ON_OFF, steps.on_off("off", han.next_tsn()))
    assert steps.default_status(answer) == 0
    assert dut.state() == steps.opened_by_off(dut)
    before = int(_boot(dut)["watchdog_resets"])
    _hang(dut, "console")
    took = _back_after_reset(dut, TASK_DEADLINE_S + _period_s(dut) + 20)
    record_property("watchdog.hang_console_to_answer_s", round(took, 2))
    boot = _boot(dut)
    assert boot == {"reset_cause": "watchdog", "watchdog_resets": str(before + 1)}
    log = [" ".join(e.split()[3:]) for e in dut.log(40)]
    assert "watchdog console" in log, log  # the loop named the late task before the reset
    after = log[log.index("watchdog console") :]
    # Fail-safe at boot (the rig's meter answers at once, so it may already be over) ...
    assert "transition relay=open level=0 source=failsafe cause=boot" in after, after
    steps.confirm(han)
    assert dut.state() == steps.opened_by_off(dut)  # ... then the committed command, back


def test_a_spinning_loop_resets_the_board(dut, record_property):
    """The whole loop stops (nothing runs, nothing logs): only the watchdog, outside the
    loop, can end it."""
    before = int(_boot(dut)["watchdog_resets"])
    _hang(dut, "loop")
    took = _back_after_reset(dut, _period_s(dut) + 20)
    record_property("watchdog.hang_loop_to_answer_s", round(took, 2))
    assert _boot(dut) == {"reset_cause": "watchdog", "watchdog_resets": str(before + 1)}
