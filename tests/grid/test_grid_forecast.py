import pytest

from emulator.grid.forecast import TrendForecaster


def test_a_rising_feeder_is_forecast_ten_minutes_ahead():
    f = TrendForecaster(horizon_s=600)
    for t in range(0, 601, 30):
        f.observe(t, 100 + 0.05 * t)  # 3 kW a minute
    fc = f.forecast()
    assert fc.predicted_kw == pytest.approx(130 + 30, abs=0.5)
    assert fc.risk_kw == fc.predicted_kw


def test_the_dnos_own_step_is_not_a_trend():
    f = TrendForecaster(horizon_s=600)
    for t in range(0, 601, 30):
        f.observe(t, 100 + 0.01 * t)
    f.discontinuity()
    for t in range(630, 751, 30):  # the load dropped by 40 kW: a curtailment
        f.observe(t, 66 + 0.01 * t)
    fc = f.forecast()
    assert fc.slope_kw_per_s == pytest.approx(0.01, abs=1e-6)
    assert fc.now_kw == pytest.approx(66 + 7.5, abs=0.5)


def test_a_single_plug_in_step_does_not_become_a_steep_trend():
    f = TrendForecaster(horizon_s=600)
    for t in range(0, 601, 30):
        f.observe(t, 100.0)
    f.discontinuity()
    for t, kw in ((630, 100.0), (660, 100.0), (690, 122.0), (720, 122.0)):
        f.observe(t, kw)
    assert f.forecast().slope_kw_per_s == 0.0  # under five minutes of history: no new trend


@pytest.mark.parametrize("horizon", [120, 900])
def test_horizon_outside_5_to_10_minutes_is_refused(horizon):
    with pytest.raises(ValueError, match="5-10 minutes"):
        TrendForecaster(horizon_s=horizon)
