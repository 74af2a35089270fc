"""emulator: the ZigBee HAN emulator (meter, Comms Hub, switches, back office, feeder).

At the root sit what every subpackage shares: the clock (simulated or wall time), the one
locator of the project's data (`data`), the error root, the virtual board (the firmware on
the MicroPython unix port) and hardened XML parsing. The subpackages (`scenario`, `grid`,
`backoffice`, `devices`, `han`, `smki`, `outage`) each name their own API.
"""

from . import data
from .clock import ZIGBEE_EPOCH, ZIGBEE_EPOCH_UNIX, Clock, Hold, SimulatedEventLoop
from .errors import EmulatorError
from .virtual_board import VirtualBoard, firmware_command, firmware_root, pty_pair
from .xml_safety import XmlRejected, iter_elements, parse_document

__all__ = [
    "ZIGBEE_EPOCH",
    "ZIGBEE_EPOCH_UNIX",
    "Clock",
    "EmulatorError",
    "Hold",
    "SimulatedEventLoop",
    "VirtualBoard",
    "XmlRejected",
    "data",
    "firmware_command",
    "firmware_root",
    "iter_elements",
    "parse_document",
    "pty_pair",
]
