"""The ESME (electricity meter) model, one module per job:

- meter.py: `Esme`, which puts the parts together and follows one command through them;
- checks.py: which SRV a command is, and whether the meter accepts it;
- device_log.py: the devices the meter has joined (CS03A1 / CS04AC);
- slots.py: the five auxiliary load control switch slots and the ZCL to their switches;
- periods.py: auxiliary controller periods (ECS47a / ECS47e);
- calendar.py: the switch calendar and its activation, with the future-dated alert;
- objects.py: the DLMS objects, what each instruction does to one;
- responses.py: responses and alerts, signed or MAC'd;
- consumption.py: the import the world drives through the meter, charged to prepayment
  credit, its credit alerts and the supply interlock;
- blocks.py: the tariff block counter matrix the import feeds, 4.1.3 reads and 1.7 resets;
- instructions.py: what the instruction handlers share (results, data items, date-times).
"""

from ..outcomes import CommandRejected, EsmeResult
from .device_log import DEVICE_LOG_CAPACITY
from .instructions import InstructionResult
from .meter import FIRST_ALERT_COUNTER, Esme
from .slots import COMMAND_ROUTES, SlotLink

__all__ = [
    "COMMAND_ROUTES",
    "DEVICE_LOG_CAPACITY",
    "FIRST_ALERT_COUNTER",
    "CommandRejected",
    "Esme",
    "EsmeResult",
    "InstructionResult",
    "SlotLink",
]
