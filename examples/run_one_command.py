"""Run one GBCS command on one emulated premises: the Comms Hub takes it off the WAN, the
ESME checks and executes it, and the HCALCS in slot 2 switches over the ZigBee HAN.

    .venv/bin/python examples/run_one_command.py [FILE.HEX]

Default: RTDS's SRV 7.6 (curtail the HCALCS for 60 minutes), signed by the Supplier. Prints
what the meter did and the relay state of the switch afterwards as one JSON line per run.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from emulator import data
from emulator.scenario import run_command

DEFAULT = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
#: The meter's clock: the date the RTDS vectors were made for.
METER_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else data.rtds() / DEFAULT
    command = bytes.fromhex(path.read_text().strip())
    outcome = run_command(command, keystores=[data.rtds_keystore()], at=METER_TIME)
    for execution in outcome.executions:
        print(json.dumps(execution.as_json()))
    return 0 if outcome.all_executed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
