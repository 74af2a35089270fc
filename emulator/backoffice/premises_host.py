"""The process that runs generated households for a DSP in another process
(remote_premises.py has the protocol): `python -m emulator.backoffice.premises_host
--state-dir DIR --households 1,2,3 [--han-latency S] [--gbcs-date D]`.

It reads the device identities the DSP issued into the state directory's SMKI repository
(the same keys and certificates in both processes), runs each household on its own HAN on
a wall clock, executes the commands it is sent (each household one at a time, in order;
households in parallel), and leaves when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path

from emulator.clock import Clock
from emulator.smki.identities import DeviceIdentities
from emulator.smki.store import Repository

from .premises_factory import build_generated
from .remote_premises import frame, read_frame
from .routing import InOrder


async def serve(args: argparse.Namespace, clock: Clock) -> None:
    when = dt.datetime.fromisoformat(args.gbcs_date)
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    repo = Repository(Path(args.state_dir) / "smki.db")
    extra = {} if args.han_latency is None else {"han_latency_s": args.han_latency}
    built = await build_generated(
        clock,
        [int(n) for n in args.households.split(",") if n],
        DeviceIdentities(repo, when),
        boost_switch=args.boost_switch,
        **extra,
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=0, closefd=False)

    def send(message: dict) -> None:
        out.write(frame(message))

    def alert_of(number: int) -> Callable[[bytes], None]:
        return lambda raw: send({"alert": bytes(raw).hex(), "household": number})

    households = {}
    for household, premises, _certificate in built:
        # the DSP reads the execution's response, never the premises' own verdict on it
        # (the user checks the response); skip that second MAC check per command
        premises.verify_responses = False
        premises.on_alert(alert_of(household.number))
        households[household.number] = InOrder(premises)
    send({"hello": [{"household": h.number, "devices": dict(p.device_ids)}
                    for h, p, _c in built]})  # fmt: skip
    tasks: set[asyncio.Task] = set()

    async def run(ident: int, number: int, command: bytes) -> None:
        premises = households.get(number)
        if premises is None:
            send({"id": ident, "execution": None})
            return
        execution = await premises.execute(command)
        send({"id": ident, "execution": {
            "use_case": execution.use_case, "outcome": str(execution.outcome),
            "response": None if execution.response is None else execution.response.hex(),
            "alerts": [a.hex() for a in execution.alerts], "latency_s": execution.latency_s,
        }})  # fmt: skip

    try:
        while (message := await read_frame(reader)) is not None:
            task = loop.create_task(
                run(int(message["id"]), int(message["household"]),
                    bytes.fromhex(message["command"]))
            )  # fmt: skip
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        for _household, premises, _certificate in built:
            await premises.close()
        repo.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--households", required=True, help="household numbers, 1,2,3")
    parser.add_argument("--han-latency", type=float)
    parser.add_argument("--gbcs-date", default="2025-06-01")
    parser.add_argument("--boost-switch", action="store_true")
    args = parser.parse_args(argv)
    clock = Clock("wall")
    clock.run(lambda: serve(args, clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
