"""The one place that builds the emulated premises `gbhan dsp serve` connects to the DSP.

The premises (Comms Hub, ESME, HCALCS on the HAN) is `emulator.devices.premises.Premises`,
built by the devices package (below the back office); the DSP only needs its `PremisesPort`
side (routing.py).
"""

from __future__ import annotations

from emulator.clock import Clock
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import Premises
from emulator.smki.identities import DeviceIdentities


async def build_premises(
    clock: Clock,
    switch: str = "model",
    boost_switch: bool = False,
    identities: DeviceIdentities | None = None,
) -> Premises:
    """The RTDS household (Comms Hub, ESME 00DB1234567890A0, an HCALCS per slot) on the
    given clock, trusting the RTDS Supplier, Network Operator and ACB; its devices sign with
    the keys `identities` keeps (the SMKI repository's), else with keys made for this run."""
    return await Premises.start(
        clock,
        keys=PremisesKeys.open(identities=identities),
        switch=switch,
        secmp0046_boost=boost_switch,
    )
