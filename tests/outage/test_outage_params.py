"""Parameter files: every strategy of both regions loads; broken files (vectors/*.toml, each
naming the error it expects on its first line) are refused with a typed error that says where."""

from __future__ import annotations

import pytest
from outage_helpers import VECTORS

from emulator.outage import params

BAD = sorted(VECTORS.glob("*.toml"))


@pytest.mark.parametrize("region", params.REGIONS)
def test_every_strategy_loads(region):
    names = params.strategies(region)
    assert names[0] == "current"
    for needed in ("option-a", "option-b", "summarised", "adaptive-dither", "hub-pra", "ours"):
        assert needed in names
    for name in names:
        m = params.model(region, name)
        assert m.region == region and m.strategy == name and m.title and m.source


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_parameter_file_is_refused(path):
    expect = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    strategy = "loop" if "[strategy.loop]" in path.read_text() else "current"
    with pytest.raises(params.OutageParamError) as info:
        params.model("north", strategy, params.load_region("north", path))
    assert expect in str(info.value)


def test_unknown_region_and_strategy_say_what_is_known():
    with pytest.raises(params.OutageParamError, match="regions: north, central-south"):
        params.model("midlands")
    with pytest.raises(params.OutageParamError, match="known: current, option-a"):
        params.model("north", "option-z")


def test_option_b_builds_on_option_a():
    a, b = params.model("north", "option-a"), params.model("north", "option-b")
    assert a.radio.channels == b.radio.channels == 3  # change 3 carried over
    assert a.pra.sender == b.pra.sender == "hub"  # change 2 carried over
    assert params.model("north").pra.sender == "esme"
