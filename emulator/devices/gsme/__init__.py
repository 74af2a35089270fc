"""The gas side of the premises: the GSME (a battery meter that sleeps between wake-ups) and
the GPF on the Comms Hub (its proxy: a mirror of the meter's data that answers reads at once,
and a queue that holds commands for the meter until it next wakes).

Both answer GBCS from their state: the GSME its ZCL attributes, logs, snapshots, sampled data,
calendars, event configuration and device log, carrying out its cluster and ASN.1 commands at
its wake-up (meter.py, commands.py, prepayment.py); the GPF the reliable reads and the reads
for an unknown remote party from its mirror, and 6.21's handover of a role the DCC controls
(its trust anchor cells, proxy.py). Checks, encryption for the reader and sealing: answer.py.
"""

from .answer import GbzAnswerer
from .meter import GasMeter
from .proxy import GasProxy

__all__ = ["GasMeter", "GasProxy", "GbzAnswerer"]
