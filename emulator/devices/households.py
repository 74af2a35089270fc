"""The RTDS households a premises can be: one data file per ESME RTDS addresses.

RTDS 4.5.0 sends its ESME use cases to two meters: 00DB1234567890A0 (rtds_household.json,
whose data RTDS's 7.7/7.11 responses show) and 00DB1234567890A6 (rtds_household_90A6.json:
the ECS46d FUTURE_DATED and CANCELLATION commands, its own 8F66 alerts). A command is run on
the household whose ESME it targets, so each keeps its own EUI-64 (MAC keys, response
originator), starting data and alert counter.

    household = for_command(command_bytes) or default()
    premises = await Premises.start(clock, keys=keys, **household.premises_kwargs())
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from gbcs import decode
from gbcs.errors import GbcsError

HERE = Path(__file__).parent
#: the RTDS household data files, the default (RTDS's main ESME) first
FILES = (HERE / "rtds_household.json", HERE / "rtds_household_90A6.json")


@dataclass(frozen=True)
class Household:
    """One ESME's premises: its EUI-64s and the meter's starting data (the profile)."""

    esme_eui: bytes
    hub_eui: bytes
    profile: dict
    path: Path

    def premises_kwargs(self) -> dict:
        """What `Premises.start` needs to be this household (a fresh copy of the data)."""
        return {
            "profile": copy.deepcopy(self.profile),
            "esme_eui": self.esme_eui,
            "hub_eui": self.hub_eui,
        }


def load(path: Path) -> Household:
    profile = json.loads(Path(path).read_text())
    return Household(
        bytes.fromhex(profile["esme_eui"]), bytes.fromhex(profile["hub_eui"]), profile, Path(path)
    )


def all_households() -> list[Household]:
    return [load(path) for path in FILES]


def default() -> Household:
    """RTDS's main household (ESME …A0)."""
    return load(FILES[0])


def for_target(target: bytes) -> Household | None:
    """The household whose ESME is `target`, None when RTDS has no ESME by that EUI."""
    return next((h for h in all_households() if h.esme_eui == bytes(target)), None)


def for_command(command: bytes) -> Household | None:
    """The household a GBCS command targets; None when it names no known ESME or does not
    decode (the premises then refuses it itself: unknown-target or malformed)."""
    try:
        target = decode(bytes(command)).target
    except GbcsError:
        return None
    return for_target(bytes(target))
