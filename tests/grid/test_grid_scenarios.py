"""Every built-in scenario against the HAN double: the 'done when' checks, and what each
variant is there to show. The same scenarios run through the real path in test_grid_real.py."""

from pathlib import Path

import pytest
from grid_helpers import run_with_double

from emulator.grid.consent import Consent
from emulator.scenario import checks, spec

BAD = sorted((Path(__file__).parent / "bad_scenarios").glob("*.toml"))
BUILT_IN = spec.available()


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = run_with_double(spec.load(name))
        return cache[name]

    return get


def test_the_default_and_the_four_variants_are_there():
    assert spec.DEFAULT_SCENARIO == "feeder-overload"
    assert {
        "feeder-overload",
        "boost-allowed",
        "boost-removed",
        "switch-unresponsive",
        "supplier-unjoin",
        "plcs-levels",
    } <= set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_done_when_checks_hold(name, runs):
    result, _ = runs(name)
    summary = result.record.summary
    assert summary["scenario"] == name
    assert summary["feeder_peak_kw_without_curtailment"] > summary["feeder_rating_kw"]
    assert summary["first_curtailment_s"] is not None
    assert all(checks(summary).values()), checks(summary)
    assert summary["declined_premises"] > 0 and summary["declined_premises_switched"] == 0
    assert summary["interventions"] >= 1 and summary["energy_curtailed_kwh"] > 0


@pytest.mark.parametrize("name", BUILT_IN)
def test_only_ev_charger_switches_of_consenting_premises_are_switched(name, runs):
    result, han = runs(name)
    opted = set(result.consent.opted_in()) | set(result.consent.with_status(Consent.WITHDRAWN))
    for switches in han.by_premises.values():
        for sw in switches:
            if sw.commands:
                assert sw.label == "Electric Vehicle Charger"
                assert sw.premises in opted


def test_boost_allowed_brings_the_load_back_and_the_dno_curtails_elsewhere(runs):
    result, han = runs("boost-allowed")
    (event,) = result.events
    assert event.kind == "boost" and event.outcome == "accepted"
    boosted = han.ev_switch_at[result.population.by_id(event.premises).index]
    assert boosted.boost_until > 0
    after = [
        r
        for r in result.record.interventions.all_srvs()
        if r.srv == "7.6"
        and r.ok
        and event.at <= r.sent_at <= event.at + 600
        and r.premises != event.premises
    ]
    assert after, "the DNO should curtail another switch within 10 minutes of the boost"
    assert result.record.summary["srv_by_type"].get("7.10", 0) == 0


def test_boost_removed_refuses_the_press_and_gives_the_boost_back_at_the_end(runs):
    result, han = runs("boost-removed")
    (event,) = result.events
    assert event.kind == "boost" and event.outcome == "refused"
    assert han.boosts_refused == 1
    srvs = result.record.interventions.all_srvs()
    curtailed = {(r.premises, r.slot) for r in srvs if r.srv == "7.6" and r.ok}
    removed = {(r.premises, r.slot) for r in srvs if r.srv == "7.10" and r.ok}
    added = {(r.premises, r.slot) for r in srvs if r.srv == "7.9" and r.ok}
    assert removed == curtailed and added == removed
    assert all(sw.boost_associated for sws in han.by_premises.values() for sw in sws)


def test_an_unresponsive_switch_makes_the_dno_escalate(runs):
    result, _ = runs("switch-unresponsive")
    (event,) = result.events
    srvs = result.record.interventions.all_srvs()
    dead = [r for r in srvs if r.premises == event.premises and r.srv == "7.6"]
    assert [r.status for r in dead] == ["rejected:hardware_fault"]  # tried once, then dropped
    escalated = [r for r in srvs if r.purpose == "escalate" and r.ok]
    assert escalated and escalated[0].sent_at >= dead[0].sent_at
    assert result.monitor.stats.escalations >= 1
    assert result.monitor.switches[(event.premises, event.slot)].state == "failed"


def test_a_supplier_unjoin_reaches_the_dno_and_the_monitor_adapts(runs):
    result, _ = runs("supplier-unjoin")
    (event,) = result.events
    assert event.outcome == "unjoined"
    (alert,) = result.monitor.stats.alerts
    assert alert.code == "N65" and alert.premises == event.premises
    srvs = result.record.interventions.all_srvs()
    assert not [r for r in srvs if r.premises == event.premises and r.sent_at > alert.at]
    replacement = [
        r for r in srvs if r.srv == "7.6" and r.ok and alert.at <= r.sent_at <= alert.at + 120
    ]
    assert replacement, "the DNO should curtail another switch in its place"
    assert result.record.interventions.events[0].alerts[0]["code"] == "N65"


def test_plcs_levels_are_used_instead_of_binary_switching(runs):
    result, han = runs("plcs-levels")
    (event,) = result.record.interventions.events
    assert 50 in event.levels_used and len(event.levels_used) >= 2
    first = [r for r in event.srvs if r.srv == "7.6" and r.purpose == "curtail"]
    configured = {p.premises_id: p.ev_switch.curtail_level for p in han.population.premises
                  if p.ev_switch is not None}  # fmt: skip
    assert first and all(r.level == configured[r.premises] for r in first)
    default, _ = runs("feeder-overload")
    assert set(default.record.interventions.events[0].levels_used) == {0}


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_scenarios_are_refused_with_the_place_named(path):
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(spec.ScenarioError) as err:
        spec.load(path)
    assert expected in str(err.value)
    assert path.name in str(err.value)


def test_unknown_scenario_names_the_built_in_ones():
    with pytest.raises(spec.ScenarioError, match="feeder-overload"):
        spec.load("no-such-scenario")
