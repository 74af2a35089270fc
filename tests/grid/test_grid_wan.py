"""The 30 s check against the WAN the scenario gives the DSP (`[han] wan_latency_s`,
`wan_jitter_s`, `wan_loss`): response times follow it, and an SRV that is late, lost or never
answered fails the check (an unanswered SRV counts as over 30 s)."""

import dataclasses

from grid_helpers import run_real

from emulator.scenario import runner, spec

CHECK = "every SRV under 30 s (unanswered ones count as over)"


def _run(**wan):
    base = spec.load("feeder-overload")
    scenario = base.with_overrides(duration_s=2 * 3600.0, han=dataclasses.replace(base.han, **wan))
    result, han = run_real(scenario)
    return result, han


def test_jitter_spreads_response_times_and_the_check_holds_under_30s():
    steady, _ = _run(wan_latency_s=2.0, wan_jitter_s=0.0)
    jittery, _ = _run(wan_latency_s=2.0, wan_jitter_s=6.0)
    spread = [o.response_s for o in steady.recorder.outcomes]
    varied = [o.response_s for o in jittery.recorder.outcomes]
    assert max(spread) - min(spread) < 1.0  # a fixed WAN: nearly the same every time
    assert max(varied) - min(varied) > 5.0 and max(varied) < 30.0
    for result in (steady, jittery):
        summary = result.record.summary
        assert summary["srv_unanswered"] == 0 and summary["srv_over_30s"] == 0
        assert runner.checks(summary)[CHECK]


def test_a_slow_lossy_wan_fails_the_check_with_late_and_unanswered_srvs():
    result, han = _run(wan_latency_s=8.0, wan_jitter_s=10.0, wan_loss=0.1)
    summary = result.record.summary
    outcomes = result.recorder.outcomes
    unanswered = [o for o in outcomes if o.unanswered]
    # lost legs (the DSP's E21 after its WAN timeout) and the DNO giving up at 30 s
    assert han.dsp.router.wan.stats.lost_out + han.dsp.router.wan.stats.lost_back > 0
    assert any(o.status == "timeout" for o in unanswered)
    assert summary["srv_unanswered"] == len(unanswered) > 0
    assert summary["srv_over_30s"] >= summary["srv_unanswered"]
    assert not runner.checks(summary)[CHECK]
