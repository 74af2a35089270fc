"""The prepayment day (emulator/days/prepayment.py) run whole on the simulated clock through
the in-process DSP to the RTDS ESME, its credit charged by esme/consumption.py as the day's
load runs through the meter: each named check, what the DUIS reads showed, and `gbhan dsp
day prepayment` exiting 0 with every check [ok]."""

from __future__ import annotations

import json

import pytest

from emulator import data, days
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.days.prepayment import POUND, balances, supply_state
from gbcs.keystore import Keystore
from tools.cli import main


@pytest.fixture(scope="module")
def outcome():
    return days.run("prepayment")


def _check(outcome, prefix: str):
    [found] = [c for c in outcome.checks if c.name.startswith(prefix)]
    return found


def _exchange(outcome, label: str):
    [found] = [e for e in outcome.exchanges if e.label == label]
    return found


@pytest.mark.parametrize("prefix", [
    "prepayment mode, configuration and price taken",
    "credit runs down with consumption",
    "debt recovery follows its configuration",
    "low credit alert (810D)",
    "emergency credit: available alert (8119)",
    "top-up £5",
    "credit exhausted: 8F0F",
    "a top-up lifts the interlock",
    "the same UTRN entered again credits nothing",
    "emergency credit exhausted (81AA)",
])  # fmt: skip
def test_each_check_holds(outcome, prefix):
    check = _check(outcome, prefix)
    assert check.ok, check.detail


def test_the_balances_4_3_reads_through_the_day(outcome):
    keys = Keystore.open(data.rtds_keystore(), clock=DEFAULT_GBCS_DATE)  # the readers' keys
    read = {e.label: balances(e.answers[-1], keys) for e in outcome.exchanges if e.srv == "4.3"}
    assert read["balances at the start"]["meter"] == 250000  # RTDS's £2.50
    assert read["balances at 06:00"]["meter"] < read["balances at the start"]["meter"]
    assert read["balances with emergency credit"]["emergency"] == 3 * POUND
    assert read["balances before the top-up"]["meter"] == 0  # spent: on emergency credit
    assert read["balances before the top-up"]["emergency"] < 3 * POUND
    # debt recovery ran all day: time debts 1 and 2 lower before the 2.3 than at the start,
    # and lower at the end than after the 2.3 raised them
    for debt in ("time1", "time2"):
        assert read["balances before the debt update"][debt] < read["balances at the start"][debt]
        assert read["balances at the end"][debt] < read["balances after the debt update"][debt]
    assert read["balances after the replay"] == read["balances before the replay"]


def test_the_supply_states_7_4_read(outcome):
    states = [supply_state(e.answers[-1]) for e in outcome.exchanges if e.srv == "7.4"]
    assert states == [0, 2, 1]  # interlocked, armed after the top-up, enabled


def test_the_alerts_reached_the_supplier_in_order(outcome):
    alerts = [what.split()[1] for _when, what in outcome.events if what.startswith("alert ")]
    assert alerts == ["810D", "8119", "810D", "81AA", "8F0F"]


def test_the_command_exits_0_with_every_check_ok(tmp_path, capsys):
    code = main(["dsp", "day", "prepayment", "--json", "--out", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed["ok"] is True and len(printed["checks"]) == 10
    assert json.loads((tmp_path / "prepayment-day.json").read_text()) == printed
