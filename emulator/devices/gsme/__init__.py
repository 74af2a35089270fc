"""The gas side of the premises: the GSME (a battery meter that sleeps between wake-ups) and
the GPF on the Comms Hub (its proxy: a mirror of the meter's data that answers reads at once,
and a queue that holds commands for the meter until it next wakes).

A skeleton: both answer GBZ read-attributes commands (ZCL attribute reads inside GBCS) from
their attributes; the GSME's own commands wait for its wake-up. See meter.py and proxy.py.
"""

from .answer import GbzAnswerer
from .meter import GasMeter
from .proxy import GasProxy

__all__ = ["GasMeter", "GasProxy", "GbzAnswerer"]
