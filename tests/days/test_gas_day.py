"""The gas day (emulator/days/gas.py) run whole on the simulated clock through the in-process
DSP to the RTDS GSME and GPF: its checks, one test each, and its timeline as `gbhan dsp day
gas` prints it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from emulator import days
from emulator.days.gas import FLOW, QUEUED
from tools.cli import main


@pytest.fixture(scope="module")
def outcome():
    return days.run("gas")


def _checks(outcome, prefix: str):
    found = [c for c in outcome.checks if c.name.startswith(prefix)]
    assert found, prefix
    return found


def test_commands_sent_while_the_meter_sleeps_wait_for_its_wake_up(outcome):
    commands = [e for e in outcome.exchanges if e.srv in QUEUED]
    assert len(commands) == 4
    for e in commands:
        since = (e.sent - days.DAY_START).total_seconds()
        assert since % 1800 != 0  # sent between wake-ups
        assert e.codes == ("I0", "I99", "I0")
        assert (e.answered - days.DAY_START).total_seconds() % 1800 == 0  # at a wake-up
        assert dt.timedelta(0) < e.answered - e.sent <= dt.timedelta(minutes=30)
    assert all(c.ok for c in _checks(outcome, "1.2.1") + _checks(outcome, "6.7"))


def test_every_queued_command_was_carried_out(outcome):
    [check] = _checks(outcome, "every command queued")
    assert check.ok and check.detail == "4 queued, 4 sent"


def test_the_mirror_follows_the_meter_through_the_day(outcome):
    afternoon, end = _checks(outcome, "the mirror follows the meter")
    assert afternoon.ok and end.ok, (afternoon.detail, end.detail)
    # 14:06: no command has waited since 10:00, yet the mirror holds the gas the meter
    # counted by its 14:00 wake-up (every half hour's to 13:45)
    assert afternoon.detail == "start 12345, read 12429, flowed 84 by 14:00"
    assert sum(FLOW[:14]) * 2 == 84
    # 23:45: the gas of every half hour but 23:45's, which the meter counts after its last
    # wake-up
    assert end.detail == "start 12345, read 12526, flowed 181 by 23:30"
    assert sum(FLOW) * 2 - FLOW[-1] == 181


def test_the_meter_wakes_every_half_hour_on_its_own(outcome):
    [check] = _checks(outcome, "at each 30-minute wake-up after gas flowed")
    assert check.ok and check.detail == "47 wake-ups by 23:45, 47 due"


def test_mirror_reads_are_answered_at_once_while_a_command_waits(outcome):
    checks = _checks(outcome, "4.18 from the GPF's mirror")
    assert len(checks) == 2 and all(c.ok for c in checks)


def test_the_mirror_reads_are_answered_from_the_gpf(outcome):
    reads = [e for e in outcome.exchanges if e.srv in ("4.18", "4.1.1")]
    assert [e.codes for e in reads] == [("I99", "I0")] * 5


def test_the_command_prints_the_timeline_and_checks_and_fails_on_a_failed_check(tmp_path, capsys):
    code = main(["dsp", "day", "gas", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "gas day"
    assert "  03:30:00  price change: 1.2.1 answered I0>I99>I0" in printed
    assert printed.count("[ok] ") == 10 and printed.count("[FAILED] ") == 0
    assert code == 0
    written = json.loads((tmp_path / "gas-day.json").read_text())
    assert written["day"] == "gas" and written["ok"] is True
    assert len(written["checks"]) == 10
