"""The 3-minute rule, shared with the Comms Hub firmware, and what the hubs' power does."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from outage_helpers import REPO

from emulator.outage import OUTAGE_REPORTABLE_S, delivered, model, simulate


def test_the_rule_is_the_firmware_rule():
    """Same name, same value as the Comms Hub firmware (firmware/commshub/gbcs_alert.py)."""
    source = (REPO / "firmware" / "commshub" / "gbcs_alert.py").read_text()
    match = re.search(r"^OUTAGE_REPORTABLE_S = const\((\d+)\)", source, re.M)
    assert match, "the firmware no longer names its 3-minute rule OUTAGE_REPORTABLE_S"
    assert int(match[1]) == OUTAGE_REPORTABLE_S == 180


@pytest.mark.parametrize("region", ["north", "central-south"])
def test_shorter_than_three_minutes_raises_no_poa_but_a_pra(region):
    short = simulate(model(region, "current"), 2000, OUTAGE_REPORTABLE_S - 1)
    assert delivered(short.poa_s) == 0.0
    assert delivered(short.pra_s) > 0.9
    at_three = simulate(model(region, "current"), 2000, OUTAGE_REPORTABLE_S + 600)
    assert delivered(at_three.poa_s) > 0.9


def test_north_hub_still_up_at_restoration_needs_no_reboot():
    """A North hub holds up ~10 minutes: after a 5-minute outage it never went down, so its
    PRA skips the reboot that follows a 60-minute one."""
    m = model("north", "option-b")
    short = simulate(m, 3000, 300)
    long = simulate(m, 3000, 3600)
    assert np.nanmedian(short.pra_s) + 100 < np.nanmedian(long.pra_s)


def test_central_south_last_gasp_needs_its_holdup():
    """A hub whose holdup ends before it can send its last gasp raises no POA at all."""
    m = model("central-south", "current")
    starved = dataclasses.replace(m, hub=dataclasses.replace(m.hub, holdup_s=(10.0, 20.0)))
    assert delivered(simulate(m, 3000).poa_s) == 1.0
    assert delivered(simulate(starved, 3000).poa_s) == 0.0


def test_poa_never_arrives_before_the_three_minutes():
    for region in ("north", "central-south"):
        for strategy in ("current", "option-b", "ours"):
            poa = simulate(model(region, strategy), 3000).poa_s
            assert np.nanmin(poa) >= OUTAGE_REPORTABLE_S, (region, strategy)
