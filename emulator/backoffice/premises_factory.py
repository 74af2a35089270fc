"""The one place that builds the emulated premises `gbhan dsp serve` connects to the DSP.

The premises (Comms Hub, ESME, HCALCS on the HAN) is `emulator.devices.premises.Premises`,
built by the devices package; the DSP only needs its `PremisesPort` side (routing.py).
"""

from __future__ import annotations

from .routing import PremisesPort


class PremisesUnavailable(RuntimeError):
    """The devices package (emulator.devices.premises) is not installed in this tree."""


async def build_premises(clock, switch: str = "model", boost_switch: bool = False) -> PremisesPort:
    """The RTDS household (Comms Hub, ESME 00DB1234567890A0, an HCALCS per slot) on the
    given clock, trusting the RTDS Supplier, Network Operator and ACB. The devices package
    is imported here and nowhere else in the back office."""
    try:
        from emulator.devices.keys import PremisesKeys
        from emulator.devices.premises import Premises
    except ImportError as exc:
        raise PremisesUnavailable(
            f"emulator.devices.premises is not available ({exc}); gbhan dsp serve needs it"
        ) from None
    return await Premises.start(
        clock, keys=PremisesKeys.open(), switch=switch, secmp0046_boost=boost_switch
    )
