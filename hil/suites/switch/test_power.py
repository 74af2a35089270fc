"""Power: the board's supply cut in the middle of a burst of commands and of writes (on the
virtual board a SIGKILL, nothing polite), and mains loss as the firmware senses it.

After every cut the board must boot, and hold the state of some prefix of what it was sent:
at least up to the last command it acknowledged (it answers after committing to flash),
never a torn or default state, with its event log readable and in order.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from emulator.clock import ZIGBEE_EPOCH_UNIX
from hil.suites.switch import steps
from hil.suites.switch.steps import CONFIG, LEVEL, ON_OFF, relay_is

LABELS = ["Heat Pump", "Storage Heater", "Battery Storage", "Electric Vehicle Charger"]
BURST = 24
ACK_COMMANDS = (0x0B, 0x04)  # Default Response, Write Attributes Response


def _acked_tsn(item) -> int | None:
    data = item.data
    if len(data) >= 3 and data[0] & 0x03 == 0 and data[2] in ACK_COMMANDS:
        return data[1]
    return None


def _acked_tsns(han, since: float) -> set[int]:
    return {t for t in map(_acked_tsn, han.received_since(since)) if t is not None}


def _cut_mid_burst(dut, han, power, plan: list[dict], cut_at_ack: int, record) -> int:
    """Send the plan, cut the power as the `cut_at_ack`-th answer arrives (in the HAN's own
    thread, so the cut lands while the board is still working through the burst however
    loaded the host); returns the index of the last command answered before the cut."""
    since = time.monotonic()
    planned = {p["tsn"] for p in plan}
    acked_now: set[int] = set()
    cut = threading.Event()
    failed: list[BaseException] = []

    def at_each_answer(item) -> None:
        tsn = _acked_tsn(item)
        if cut.is_set() or tsn is None or tsn not in planned:
            return
        acked_now.add(tsn)
        if len(acked_now) >= cut_at_ack:
            try:
                power.off()
            except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
                failed.append(exc)
            cut.set()

    han.on_received = at_each_answer
    burst = han.start_burst([(p["cluster"], p["frame"]) for p in plan])
    try:
        assert cut.wait(10), "the board stopped answering the burst"
    finally:
        han.on_received = None
        burst.stop()  # before the power returns: nothing of it may reach the rebooted board
    if failed:
        raise failed[0]
    acked = _acked_tsns(han, since)
    last = max(i for i, p in enumerate(plan) if p["tsn"] in acked)
    record("power_cut.planned", len(plan))
    record("power_cut.acked_before_cut", last + 1)
    exit_codes = getattr(power, "exit_codes", None)
    if exit_codes:
        record("power_cut.exit_code", exit_codes[-1])
    assert last < len(plan) - 1, "the cut came after the whole burst: not mid-operation"
    return last


def _after_reboot(dut, han, power, last_seq: int) -> None:
    power.on()
    steps.confirm(han)
    log = dut.log(80)
    seqs = [int(e.split()[1]) for e in log]
    assert seqs == sorted(set(seqs)), f"event log out of order after the cut: {seqs}"
    after = [" ".join(e.split()[3:]) for e in log if int(e.split()[1]) > last_seq]
    assert any(k.startswith("boot ") for k in after), f"no boot entry after the cut: {after}"
    # Until the meter is heard the output is fail-safe (open), whatever was committed.
    assert "transition relay=open level=0 source=failsafe cause=boot" in after, after


def _label(dut) -> str:
    return dut.status()["label"].replace("_", " ")


@pytest.mark.switching
@pytest.mark.parametrize("cut_at_ack", [1, 5, 11])
def test_power_cut_during_a_burst_of_commands(
    dut, han, power, latency, record_property, cut_at_ack
):
    rng = random.Random(cut_at_ack)
    plan = []
    relay, level = "closed", 100
    for i in range(BURST):
        tsn = han.next_tsn()
        if dut.role == "plcs":
            level = rng.randint(1, 99)
            plan.append(
                {
                    "cluster": LEVEL,
                    "tsn": tsn,
                    "after": ("closed", level),
                    "frame": steps.move_to_level(tsn, level, True),
                }
            )
        else:
            relay = "open" if i % 2 == 0 else "closed"
            plan.append(
                {
                    "cluster": ON_OFF,
                    "tsn": tsn,
                    "after": (relay, 100 if relay == "closed" else 0),
                    "frame": steps.on_off("off" if relay == "open" else "on", tsn),
                }
            )
    gen_before = int(dut.status()["gen"])
    last_seq = int(dut.log(1)[0].split()[1])
    last = _cut_mid_burst(dut, han, power, plan, cut_at_ack, record_property)
    _after_reboot(dut, han, power, last_seq)

    state = dut.state()
    got = (state["relay"], int(state["level"]))
    valid = {p["after"] for p in plan[last:]}
    assert state["source"] == "remote" and got in valid, (
        f"after a cut with command {last + 1} of {len(plan)} acknowledged the switch shows "
        f"{state}; valid: {sorted(valid)}"
    )
    gen = int(dut.status()["gen"])
    assert gen_before + last + 1 <= gen <= gen_before + len(plan), (
        f"commit counter {gen}: expected {gen_before + last + 1}..{gen_before + len(plan)}"
    )
    # The board works after the cut: one more command, measured.
    name, expect = ("off", "open") if state["relay"] == "closed" else ("on", "closed")
    latency.command(
        ON_OFF, steps.on_off(name, han.next_tsn()), relay_is(expect), f"{name} after the cut"
    )


@pytest.mark.parametrize("cut_at_ack", [2, 9])
def test_power_cut_during_a_burst_of_writes(dut, han, power, record_property, cut_at_ack):
    rng = random.Random(100 + cut_at_ack)
    plan = []
    for _ in range(BURST):
        tsn = han.next_tsn()
        label = rng.choice(LABELS)
        plan.append(
            {
                "cluster": CONFIG,
                "tsn": tsn,
                "after": label,
                "frame": steps.write_attributes(tsn, (steps.ATTR_LABEL, steps.T_STRING, label)),
            }
        )
    last_seq = int(dut.log(1)[0].split()[1])
    last = _cut_mid_burst(dut, han, power, plan, cut_at_ack, record_property)
    _after_reboot(dut, han, power, last_seq)
    label = _label(dut)
    valid = {p["after"] for p in plan[last:]}
    assert label in valid, (
        f"after a cut with write {last + 1} of {len(plan)} acknowledged the label is "
        f"{label!r}; valid: {sorted(valid)}"
    )
    assert steps.read_value(han, CONFIG, steps.ATTR_LABEL) == label


def test_mains_loss_and_return(dut, han, power):
    """Mains sensed lost: logged, state committed at once (the hold-up may end any moment);
    mains back: logged. A supply cut during the loss keeps the commanded state."""
    han.request(ON_OFF, steps.on_off("off", han.next_tsn()))
    gen = int(dut.status()["gen"])
    assert dut.mains(False) == "ok mains off"
    status = dut.status()
    assert status["mains"] == "off" and int(status["gen"]) == gen + 1, status
    assert dut.mains(True) == "ok mains on"
    assert dut.status()["mains"] == "on"
    kinds = [" ".join(e.split()[3:]) for e in dut.log(3)]
    assert kinds[-2:] == ["power mains-lost", "power mains-restored"], kinds

    last_seq = int(dut.log(1)[0].split()[1])
    assert dut.mains(False) == "ok mains off"
    power.off()  # the hold-up ran out
    _after_reboot(dut, han, power, last_seq)
    assert dut.state() == steps.opened_by_off(dut)
    assert dut.status()["mains"] == "on"  # a board that boots has its supply back


@pytest.mark.physical
def test_board_and_console_come_back_after_a_power_cycle(dut, han, power, record_property):
    """A native-USB console disappears with the supply; the rig reopens it."""
    power.cycle(off_s=2.0)
    steps.confirm(han)
    record_property("console.reopened", dut.console.channel.stats["reopened"])
    assert dut.state()["source"] != "failsafe"


def test_the_board_reads_the_meters_time_after_power_up(dut, han, power, clock):
    """After a power cut the board asks the meter for the time (ZigBee Time cluster) and
    takes the answer; the rig's meter answers from the rig's clock for the board."""
    clock.set(clock.now())
    reads = han.time_reads
    last_seq = int(dut.log(1)[0].split()[1])
    power.off()
    _after_reboot(dut, han, power, last_seq)
    deadline = time.monotonic() + 5.0
    while han.time_reads == reads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert han.time_reads > reads, "the board never read the meter's time after power-up"
    zigbee_now = clock.now() - ZIGBEE_EPOCH_UNIX
    deadline = time.monotonic() + 10.0
    while True:
        entries = [e.split() for e in dut.log(20) if int(e.split()[1]) > last_seq]
        taken = [e for e in entries if e[3] == "time"]
        if taken or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert taken, f"the board did not take the meter's time: {entries}"
    assert abs(int(taken[-1][4].removeprefix("utc=")) - zigbee_now) <= 5, taken
