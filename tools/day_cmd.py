"""`gbhan dsp day gas|prepayment`: run a day of DUIS requests through the in-process DSP to the emulated
premises on a simulated clock (emulator/days), print its timeline and checks; exit 0 only
when every check holds."""

from __future__ import annotations

import json
from pathlib import Path


def register(cmds) -> None:
    p = cmds.add_parser(
        "day",
        help="run a scripted day of DUIS requests on a simulated clock through the in-process "
        "DSP to the premises, with its timeline and named checks",
    )
    p.add_argument("name", choices=("gas", "prepayment"), help="which day")
    p.add_argument("--out", type=Path, help="write day.json (timeline and checks) here")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=cmd_day)


def cmd_day(args) -> int:
    from emulator import days

    outcome = days.run(args.name)
    document = json.dumps(outcome.as_dict(), indent=2)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}-day.json").write_text(document + "\n")
    print(document if args.json else outcome.text())
    return 0 if outcome.ok else 1
