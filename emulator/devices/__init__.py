"""The emulated household devices: ESME, Comms Hub model, switches (model or real firmware).

`premises.Premises` puts them together on a shared clock and HAN medium; see docs/devices.md.
The layer modules are used as modules too (`households.for_command`, `switch_zcl` frames);
the names below are what the back office, the grid, the CLI and the tests build on.
"""

from . import households, switch_zcl
from .access import AccessPolicy, CounterStore, check_sender
from .comms_hub import CommsHub, RoutingError
from .esme import DEVICE_LOG_CAPACITY, Esme
from .keys import NETWORK_OPERATOR, SUPPLIER, PremisesKeys
from .outcomes import CommandRejected, EsmeResult, Outcome, RejectReason
from .paired_device import PairedDevice
from .premises import ESME_EUI, HAN_LATENCY_S, HUB_EUI, PROFILE, Execution, Premises
from .reoriginate import reoriginate
from .switch import Switch
from .switch_board import BoardSwitch
from .switch_model import ModelSwitch
from .switch_zcl import SwitchError, SwitchState

__all__ = [
    "DEVICE_LOG_CAPACITY",
    "ESME_EUI",
    "HAN_LATENCY_S",
    "HUB_EUI",
    "NETWORK_OPERATOR",
    "PROFILE",
    "SUPPLIER",
    "AccessPolicy",
    "BoardSwitch",
    "CommandRejected",
    "CommsHub",
    "CounterStore",
    "Esme",
    "EsmeResult",
    "Execution",
    "ModelSwitch",
    "Outcome",
    "PairedDevice",
    "Premises",
    "PremisesKeys",
    "RejectReason",
    "RoutingError",
    "Switch",
    "SwitchError",
    "SwitchState",
    "check_sender",
    "households",
    "reoriginate",
    "switch_zcl",
]
