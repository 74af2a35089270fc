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


def test_the_minimal_policy_sheds_less_than_all_consenting_and_shares_it(runs):
    lean = runs("feeder-overload")[0].record.summary
    blunt = runs("all-consenting")[0].record.summary
    assert (lean["policy"], blunt["policy"]) == ("minimal", "all-consenting")
    assert lean["minutes_over_rating"] == 0 and blunt["minutes_over_rating"] == 0
    assert lean["energy_shed_kwh"] < 0.75 * blunt["energy_shed_kwh"]
    assert lean["shed_to_needed_ratio"] < 0.75 * blunt["shed_to_needed_ratio"]
    assert lean["curtailment_max_over_mean"] <= 1.5
    # a third of the customers signed up with terms, and the run kept them
    assert len(lean["consent_terms"]) >= 2 and lean["consent_terms_broken"] == []
    by_customer = lean["curtailment_minutes_by_customer"]
    assert max(by_customer.values()) == lean["curtailment_minutes_max"]


def test_all_consenting_does_not_know_consent_terms_and_would_break_them(runs):
    """The reason the terms are the minimal policy's job: the first policy, given the same
    customers' terms, curtails them through their excluded hours and past their limit."""
    import dataclasses

    from grid_helpers import run_with_double

    scenario = spec.load("all-consenting")
    with_terms = dataclasses.replace(
        scenario, consent=dataclasses.replace(scenario.consent, terms_share=0.33)
    )
    summary = run_with_double(with_terms)[0].record.summary
    assert summary["consent_terms_broken"]
    assert not checks(summary)["customers' consent terms kept (max per event, excluded hours)"]


@pytest.mark.parametrize("name", ["forecast-error", "slow-wan"])
def test_the_margin_keeps_the_rating_when_the_forecast_errs_or_srvs_are_slow(name, runs):
    from grid_helpers import run_with_double

    if name == "slow-wan":  # the double's SRVs take the slow WAN's 27 s
        result = run_with_double(spec.load(name), latency_s=27.0)[0]
        assert result.record.summary["srv_response_s_max"] == pytest.approx(27.0)
    else:
        result = runs(name)[0]
    summary = result.record.summary
    assert summary["minutes_over_rating"] == 0
    assert summary["feeder_peak_kw"] <= summary["feeder_rating_kw"]
    default = runs("feeder-overload")[0].record.summary
    if name == "forecast-error":  # the margin grew with the error it measured
        assert summary["margin_kw_mean"] > default["margin_kw_mean"] + 3.0


def test_the_fairness_and_minutes_over_checks_fail_when_they_should():
    """The two policy checks on a summary: 0 minutes over, and the largest per-customer time
    within 1.5 x the mean once the event has ended (a run that stops inside an event has
    not finished its rotation, so its sharing is not judged yet)."""
    result, _ = run_with_double(spec.load("feeder-overload"))
    summary = result.record.summary
    fair = "largest per-customer curtailment within 1.5 x the mean"
    over = "0 minutes over the rating (30 s samples)"
    assert checks(summary)[fair] and checks(summary)[over]
    assert summary["event_open_at_end"] is False
    assert not checks({**summary, "curtailment_max_over_mean": 1.6})[fair]
    assert checks({**summary, "curtailment_max_over_mean": 1.6, "event_open_at_end": True})[fair]
    assert not checks({**summary, "minutes_over_rating": 0.5})[over]
