"""hil: the hardware-in-the-loop rig (serial transports, power control, pytest plugin).

A DUT is addressed by URL (`parse_dut`: virtual, a serial port, a socket) and opened with
`open_dut`; `open_power` drives its supply, `HanRig` is the HAN around it (hub and meter
from `emulator.han`), `DutClock` its clock and `LatencyProbe` times its switching. A rig
file (`locate`, `wire`) names a bench's ports. The pytest plugin (`hil.plugin`) is loaded
by pytest itself and is not imported here.
"""

from .address import AddressError, DutAddress, PowerAddress, parse_dut, parse_power
from .bench import BenchEmulator
from .channel import ChannelError, SerialChannel
from .clock import DutClock
from .console import Console, ConsoleTimeout, OutputChange
from .dut import Dut, DutError, open_dut
from .errors import HilError
from .flash import FlashError, FlashPlan
from .han import Answer, HanError, HanRig
from .latency import LatencyProbe, SwitchingError
from .power import ManualPower, PowerDriver, PowerError, UsbRelayPower, VirtualPower, open_power
from .rigfile import ClockMode, RigError, Wiring, locate, wire

__all__ = [
    "AddressError",
    "Answer",
    "BenchEmulator",
    "ChannelError",
    "ClockMode",
    "Console",
    "ConsoleTimeout",
    "Dut",
    "DutAddress",
    "DutClock",
    "DutError",
    "FlashError",
    "FlashPlan",
    "HanError",
    "HanRig",
    "HilError",
    "LatencyProbe",
    "ManualPower",
    "OutputChange",
    "PowerAddress",
    "PowerDriver",
    "PowerError",
    "RigError",
    "SerialChannel",
    "SwitchingError",
    "UsbRelayPower",
    "VirtualPower",
    "Wiring",
    "locate",
    "open_dut",
    "open_power",
    "parse_dut",
    "parse_power",
    "wire",
]
