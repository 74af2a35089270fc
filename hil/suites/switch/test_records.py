"""What the switch tells the meter and keeps: labels (SRV 7.7), its calendar, its event log."""

from __future__ import annotations

import pytest

from hil.dut import DEFAULT_LABEL
from hil.suites.switch import steps
from hil.suites.switch.steps import ATTR_LABEL, CONFIG, ON_OFF, T_STRING, relay_is


def test_firmware_reports_its_role_and_version(dut, han):
    version = dut.check_role()
    build_id = steps.read_value(han, steps.BASIC, 0x4000)
    assert version.split()[1:3] == str(build_id).split(), (version, build_id)
    assert steps.read_value(han, steps.BASIC, 0x0005) == dut.role.upper()


def test_labels_are_read_and_only_vocabulary_labels_written(dut, han):
    assert steps.read_value(han, CONFIG, ATTR_LABEL) == DEFAULT_LABEL
    assert steps.read_value(han, steps.BASIC, 0x0010) == DEFAULT_LABEL[:16]  # location descr.
    assert steps.write(han, CONFIG, (ATTR_LABEL, T_STRING, "heat pump")) == [(0, None)]
    assert steps.read_value(han, CONFIG, ATTR_LABEL) == "Heat Pump"  # the vocabulary's spelling
    refused = steps.write(han, CONFIG, (ATTR_LABEL, T_STRING, "My Tesla"))
    assert refused == [(0x87, ATTR_LABEL)]  # INVALID_VALUE
    assert steps.read_value(han, CONFIG, ATTR_LABEL) == "Heat Pump"
    assert "label=Heat_Pump" in dut.console.command("status").split()


def test_calendar_gives_the_state_by_time_of_day(dut, han, clock):
    closed_level = 60 if dut.role == "plcs" else 100
    entries = [(7 * 60, True, closed_level), (23 * 60, False, 0)]
    written = steps.calendar_bytes(entries)
    assert steps.write(han, CONFIG, (steps.ATTR_CALENDAR, steps.T_OCTETS, written)) == [(0, None)]
    assert bytes(steps.read_value(han, CONFIG, steps.ATTR_CALENDAR)) == written
    day = clock.day_start()
    expectations = (
        (6 * 3600, {"relay": "open", "level": "0"}),  # before 07:00: last night's 23:00 entry
        (8 * 3600, {"relay": "closed", "level": str(closed_level)}),
        (23 * 3600 + 60, {"relay": "open", "level": "0"}),
    )
    for offset, expect in expectations:
        clock.set(day + offset)
        steps.wait_state(
            dut, lambda s, e=expect: s == {**e, "source": "calendar"},
            f"calendar at {offset // 3600:02d}:{offset % 3600 // 60:02d} UTC",
        )  # fmt: skip


@pytest.mark.switching
def test_event_log_records_commands_and_refusals(dut, han, clock, latency):
    clock.set(clock.now())
    last = int(dut.log(1)[0].split()[1])
    latency.command(ON_OFF, steps.on_off("off", han.next_tsn()), relay_is("open"), "off")
    try:
        han.request(
            ON_OFF, steps.on_off("on", han.next_tsn(han.stranger)), sender=han.stranger, timeout=1.0
        )
    except Exception:  # noqa: BLE001 - no answer is the expected outcome, checked below
        pass
    entries = [e for e in dut.log(30) if int(e.split()[1]) > last]
    seqs = [int(e.split()[1]) for e in entries]
    assert seqs == list(range(last + 1, last + 1 + len(seqs))), f"sequence gaps: {seqs}"
    kinds = [" ".join(e.split()[3:]) for e in entries]
    off = steps.opened_by_off(dut)
    assert f"transition relay=open level={off['level']} source=remote cause=on-off off" in kinds, (
        kinds
    )
    times = {int(e.split()[2]) for e in entries}
    if clock.simulated:
        assert times == {clock.now()}, (
            f"entries stamped {times}, the board's clock is {clock.now()}"
        )
    else:
        assert all(abs(t - clock.now()) < 10 for t in times), times
    assert steps.read_value(han, CONFIG, steps.ATTR_LOG_SEQUENCE) == seqs[-1]
    # the refusal: in full, or in the summary the board writes a minute later (flash wear)
    assert steps.logged_refusals(dut, last, "unauthorised") >= 1, kinds
