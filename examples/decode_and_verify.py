"""Decode one RTDS message and check its signature with the RTDS keystore.

    .venv/bin/python examples/decode_and_verify.py [FILE.HEX]

Default: the DCC's SRV 7.6 (curtail an HCALCS) command from RTDS 4.5.0. Prints the decoded
tree and the verdict of every security check (signature, MAC, decryption).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import gbcs
from emulator import data
from gbcs import render

DEFAULT = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
#: RTDS 4.5.0's certificates are valid on this date (some have expired since).
RTDS_DATE = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else data.rtds() / DEFAULT
    raw = bytes.fromhex(path.read_text().strip())
    message = gbcs.decode(raw)
    print(render.message_text(message))
    keystore = gbcs.Keystore.open(data.rtds_keystore(), clock=RTDS_DATE)
    report = gbcs.verify(message, keystore)
    print(f"{path.name}: {report.outcome} ({report})")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
