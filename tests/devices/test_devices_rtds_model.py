"""Every RTDS 7.5-7.11, 6.14 and 11.2 ECS52 command through a fresh premises with model switches, the
household whose ESME the command targets."""

from __future__ import annotations

import pytest
from devices_helpers import CASES, RTDS_TIME, check_against_rtds, household, run_case

from emulator.clock import Clock
from emulator.devices.premises import Premises


@pytest.mark.parametrize("name", sorted(CASES))
def test_rtds_command_on_model_switches(keys, name):
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(
            clock, keys=keys, switch="model", **household(name).premises_kwargs()
        )
        assert premises.device_ids[household(name).esme_eui.hex().upper()] == "ESME"
        return await run_case(premises, name)

    execution, before = clock.run(main)
    check_against_rtds(name, execution, before)
