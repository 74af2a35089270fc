"""The main job as `gbhan emulate` runs it: the default scenario with one EV switch as the
real firmware on a virtual board, inside the simulated-time run, commanded by the DNO."""

import json
import re

import pytest

from emulator import scenario
from emulator.scenario import engine, spec
from emulator.scenario.boards import choose


@pytest.fixture(scope="module")
def board_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("feeder-overload-board")
    outcome = scenario.run(scenario.load(None), out=out, boards=1)
    return outcome, json.loads((out / "summary.json").read_text()), list(outcome.timeline), out


def test_default_run_with_a_board_meets_every_check(board_run):
    outcome, summary, lines, _ = board_run
    assert outcome.ok, outcome.failed
    assert summary["boards"] == 1 and outcome.summary.boards == 1
    assert summary["feeder_peak_kw_after_first_curtailment"] <= summary["feeder_rating_kw"]
    assert summary["srv_over_30s"] == 0 and summary["declined_premises_switched"] == 0
    assert len(outcome.checks) == 9 and all(outcome.checks.values()), outcome.checks


def test_the_board_premises_is_curtailed_and_its_console_agrees(board_run):
    _, summary, lines, out = board_run
    han = summary["han"]
    (board,) = han["boards"]
    premises, slot = re.fullmatch(r"(\S+) slot (\d)", board).groups()
    assert any(re.search(rf"board: {premises} slot {slot} .*virtual board", line) for line in lines)
    interventions = json.loads((out / "interventions.json").read_text())
    srvs = [r for e in interventions["events"] for r in e["srvs"]]
    at_board = [r for r in srvs if r["premises"] == premises and r["slot"] == int(slot)]
    assert any(r["srv"] == "7.6" and r["ok"] for r in at_board)
    assert any(r["srv"] == "7.8" and r["ok"] for r in at_board)
    assert han["board_relay_checks"] >= 2 and han["board_relay_mismatches"] == 0
    assert han["board_srvs_failed"] == 0 and han["board_console_failures"] == 0
    assert han["board_answer_holds_expired"] == 0


def test_the_board_goes_to_the_dnos_first_candidate():
    sc = spec.load(None)
    population = engine.build_population(sc)
    consent = engine.build_consent(sc, population)
    ((premises, slot),) = choose(population, consent, 1)
    plan = next(p for p in population.premises if p.premises_id == premises)
    assert consent.status(premises).name == "OPTED_IN" and plan.ev_switch.slot == slot
    opted = [
        p
        for p in population.premises
        if p.ev_switch is not None and consent.status(p.premises_id).name == "OPTED_IN"
    ]
    assert consent.declared_kw(premises) == max(consent.declared_kw(p.premises_id) for p in opted)


def test_the_board_run_keeps_the_model_runs_timeline(board_run, tmp_path):
    # Simulated time stands still while the board works, so the firmware changes nothing in
    # the run's timing: the same SRVs at the same simulated instants as with a model switch.
    _, _, board_lines, _ = board_run
    model = scenario.run(scenario.load(None), out=tmp_path, boards=0)
    assert model.ok, model.failed
    model_lines = list(model.timeline)

    def timeline(lines):
        return [
            line
            for line in lines
            if re.match(r"\d\d:\d\d:\d\d  ", line) and "  board: " not in line
        ]

    assert len(timeline(board_lines)) > 20
    assert timeline(board_lines) == timeline(model_lines)
