"""The one place that builds the emulated premises `gbhan dsp serve` connects to the DSP.

The premises (Comms Hub, ESME, HCALCS on the HAN) is `emulator.devices.premises.Premises`,
built by the devices package (below the back office); the DSP only needs its `PremisesPort`
side (routing.py).
"""

from __future__ import annotations

from emulator.clock import Clock
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import HAN_LATENCY_S, Premises
from emulator.han import LinkQuality, Medium
from emulator.smki.identities import DeviceIdentities


async def build_premises(
    clock: Clock,
    switch: str = "model",
    boost_switch: bool = False,
    identities: DeviceIdentities | None = None,
    han_latency_s: float = HAN_LATENCY_S,
) -> Premises:
    """The RTDS household (Comms Hub, ESME 00DB1234567890A0, an HCALCS per slot) on the
    given clock, trusting the RTDS Supplier, Network Operator and ACB; its devices sign with
    the keys `identities` keeps (the SMKI repository's), else with keys made for this run.
    `han_latency_s` is each HAN hop's air time: the ESME runs one command at a time and a 7.7
    takes about four hops per switch, so at the default 5 ms one premises answers at most
    ~45 SRVs/s however fast the DSP is; 0 measures the DSP and the device code alone."""
    if han_latency_s < 0:
        raise ValueError(f"HAN latency {han_latency_s} s is negative")
    return await Premises.start(
        clock,
        Medium(clock, seed=1, default_link=LinkQuality(latency_s=han_latency_s)),
        keys=PremisesKeys.open(identities=identities),
        switch=switch,
        secmp0046_boost=boost_switch,
    )
