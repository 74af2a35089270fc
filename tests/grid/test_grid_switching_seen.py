"""`declined_premises_switched` is counted where switching happens (the meters' executions and
the switches' remote commands), not from the DNO's own SRV log: a monitor broken on purpose
switches a declined premises underneath the guard and the DNO's log, and the run must say so."""

import json

import pytest

from emulator import scenario
from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.monitor import DnoMonitor
from emulator.grid.plant import SwitchingSeen
from emulator.scenario import engine, runner, spec

SHORT = """extends = "feeder-overload"
name = "declined-bypass"

[time]
duration_h = 0.5
"""


def _victim(path):
    """A declined premises with an EV switch, as the run will draw it (same seed)."""
    sc = spec.load(path)
    population = engine.build_population(sc)
    consent = engine.build_consent(sc, population)
    victim = consent.with_status(Consent.DECLINED)[0]
    return victim, population.by_id(victim).ev_switch.slot


@pytest.mark.parametrize("route", ["dsp", "meter"])
def test_a_declined_premises_switched_behind_the_guard_fails_the_run(tmp_path, monkeypatch, route):
    path = tmp_path / "declined-bypass.toml"
    path.write_text(SHORT)
    victim, slot = _victim(path)

    worlds = []
    build_world = runner.build_world

    async def keep_world(*args, **kwargs):
        worlds.append(await build_world(*args, **kwargs))
        return worlds[-1]

    class BrokenMonitor(DnoMonitor):
        """Curtails a declined premises without the guard: through the DSP (the meter executes
        an SRV the DNO's log never sees), or by driving the meter directly (no SRV at all:
        only the switch shows it)."""

        async def discover(self):
            await super().discover()
            client = self.gateway.inner.inner  # under GuardedGateway and RecordingGateway
            if route == "dsp":
                outcome = await client.curtail(victim, slot, 1800)
                assert outcome.ok, outcome
            else:
                esme = worlds[0].sites[victim].premises.esme
                await esme.command_slot(slot, "7.6", 30)

    monkeypatch.setattr(runner, "build_world", keep_world)
    monkeypatch.setattr(engine, "DnoMonitor", BrokenMonitor)
    outcome = scenario.run(spec.load(path), out=tmp_path / "out", boards=0)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    srvs = json.loads((tmp_path / "out" / "interventions.json").read_text())

    assert not outcome.ok
    assert outcome.failed == ["no declined premises switched (seen at its meter and switches)"]
    assert summary["declined_premises_switched"] == 1
    assert any(victim in line for line in summary["switching_without_consent"])
    # the DNO's own SRV log has nothing for it: a count from that log would have stayed 0
    assert victim not in json.dumps(srvs)
    seen_where = {line.split(": ", 1)[1].split()[0]
                  for line in summary["switching_without_consent"]}  # fmt: skip
    assert seen_where == ({"meter", "switch"} if route == "dsp" else {"switch"})


def test_consent_is_judged_as_it_stood_when_the_switching_was_seen():
    consent = ConsentRegister()
    consent.set("A", Consent.OPTED_IN, 0.0)
    consent.withdraw("A", 100.0)
    consent.set("B", Consent.DECLINED, 0.0)
    seen = [
        SwitchingSeen(50.0, "A", 1, "meter", "7.6"),  # opted in then: fine
        SwitchingSeen(150.0, "A", 1, "meter", "7.8"),  # withdrawn, undoing: fine
        SwitchingSeen(160.0, "A", 1, "meter", "7.9"),  # withdrawn, boost back: fine
        SwitchingSeen(170.0, "A", 1, "meter", "7.6"),  # withdrawn, a new curtailment: not
        SwitchingSeen(10.0, "B", 2, "switch"),  # declined: anything
        SwitchingSeen(10.0, "C", 2, "meter", "7.8"),  # never asked: anything
    ]
    bad = engine.unconsented(seen, consent)
    assert [(status, s.premises, s.at) for status, s in bad] == [
        (Consent.WITHDRAWN, "A", 170.0),
        (Consent.DECLINED, "B", 10.0),
        (Consent.NOT_ASKED, "C", 10.0),
    ]
    assert consent.status_at("A", 99.0) is Consent.OPTED_IN
    assert consent.status_at("A", 100.0) is Consent.WITHDRAWN
