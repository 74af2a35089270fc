"""The process that runs generated households for a DSP in another process
(remote_premises.py has the protocol): `python -m emulator.backoffice.premises_host
--state-dir DIR --households 1,2,3 [--han-latency S] [--gbcs-date D]`.

It reads the device identities the DSP issued into the state directory's SMKI repository
(the same keys and certificates in both processes), runs each household on its own HAN on
a wall clock, executes the commands it is sent (each household one at a time, in order;
households in parallel), reports each household's switches when they change once asked to
(`{"watch": true}`: the web console shows them live), and leaves when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.clock import Clock
from emulator.devices import Premises
from emulator.smki.identities import DeviceIdentities
from emulator.smki.store import Repository
from gbcs.dlms import decode_data

from .premises_factory import build_generated
from .remote_premises import frame, read_frame
from .routing import InOrder

#: How often the households' switches are read for a change (also straight after a command).
STATE_EVERY_S = 0.5


#: the meter's held values shown as registers and credit: (label, interface class, OBIS, attr)
METER_VALUES = (
    ("meter balance (credit)", 112, "0000130A00FF", 2),
    ("emergency credit", 112, "0000130A01FF", 2),
    ("emergency credit status (1 selectable, 2 selected)", 112, "0000130A01FF", 8),
    ("maximum demand import", 4, "0100010600FF", 2),
    ("maximum demand export", 4, "0100020600FF", 2),
)


def json_value(item: Any) -> Any:
    """A COSEM data item's value as JSON (A-XDR containers, raw bytes from the store)."""
    if isinstance(item, bytes | bytearray):
        try:
            item = decode_data(bytes(item))
        except Exception:  # not one data item: show its bytes
            return bytes(item).hex().upper()
    value = item.get("value") if isinstance(item, dict) else item
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().upper()
    if isinstance(value, int | str | float | bool) or value is None:
        return value
    return str(value)


def meter_registers(esme: Any) -> list[dict]:
    """The meter's registers and credit (`METER_VALUES` it holds), JSON."""
    registers = []
    for label, ic, obis, attribute in METER_VALUES:
        key = (ic, bytes.fromhex(obis), attribute)
        if key in esme.store:
            registers.append({"name": label, "obis": obis, "attribute": attribute,
                              "value": json_value(esme.store.get(*key))})  # fmt: skip
    return registers


async def switch_views(premises: Premises) -> list[dict]:
    """Each switch's relay, level, label and boost association as the switch holds them, and
    the meter's label for it (JSON; EUIs as plain upper-case hex)."""
    esme = premises.esme
    switches = []
    for slot, unit in sorted(premises.switches.items()):
        state = (await unit.state()).as_dict()
        config = await unit.config()
        link = esme.slots.get(slot)
        switches.append({
            "slot": slot, "eui": link.eui.hex().upper() if link is not None and link.eui else None,
            "role": unit.role, "relay": state["relay"], "level": state["level"],
            "label": config.get("label", ""), "meter_label": esme.objects.labels.get(slot, ""),
            "boost_associated": bool(config.get("boost_associated")),
        })  # fmt: skip
    return switches


async def view(premises: Premises) -> dict:
    """What the DSP's web console shows of a household's devices (JSON): its switches
    (`switch_views`); the meter's registers and credit, device log and whether boost is
    available."""
    esme = premises.esme
    switches = await switch_views(premises)
    return {
        "hub": premises.hub.eui.hex().upper(),
        "meter": esme.eui.hex().upper(),
        "meter_device_log": {bytes(e).hex().upper(): t for e, t in esme.device_log.items()},
        "boost_available": bool(esme.objects.boost_available),
        "registers": meter_registers(esme),
        "switches": switches,
    }


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
    changed = asyncio.Event()

    async def report_states() -> None:
        """Each household's view once, then again whenever it changes."""
        sent: dict[int, dict] = {}
        while True:
            changed.clear()
            for household, premises, _certificate in built:
                try:
                    seen = await view(premises)
                except Exception as exc:  # a model mid-change: read it again next time
                    print(f"premises host: reading household {household.number}: {exc!r}",
                          file=sys.stderr)  # fmt: skip
                    continue
                if sent.get(household.number) != seen:
                    sent[household.number] = seen
                    send({"state": seen, "household": household.number})
            try:
                await asyncio.wait_for(changed.wait(), STATE_EVERY_S)
            except TimeoutError:
                pass

    reporter: asyncio.Task | None = None

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
            "switch": {str(slot): state for slot, state in execution.switch.items()},
        }})  # fmt: skip
        changed.set()

    async def distribute(ident: int, number: int, image: bytes, devices: list[bytes]) -> None:
        premises = households.get(number)
        outcomes = ({d: "not-here" for d in devices} if premises is None
                    else await premises.distribute_firmware(image, devices))  # fmt: skip
        send({"id": ident, "distributed": {d.hex(): v for d, v in outcomes.items()}})

    try:
        while (message := await read_frame(reader)) is not None:
            if "clock" in message:  # the DSP's clock changed pace: keep its time
                paced = message["clock"]
                utc = dt.datetime.fromisoformat(paced["utc"])
                clock.pace(float(paced["speed"]), (utc, float(paced["epoch"])))
                continue
            if message.get("watch"):  # someone shows the households: report them
                if reporter is None:
                    reporter = loop.create_task(report_states())
                continue
            if "firmware" in message:  # 11.1 / 11.4: an image for some of its devices
                task = loop.create_task(distribute(
                    int(message["id"]), int(message["household"]),
                    bytes.fromhex(message["firmware"]),
                    [bytes.fromhex(d) for d in message.get("devices", [])]))  # fmt: skip
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                continue
            task = loop.create_task(
                run(int(message["id"]), int(message["household"]),
                    bytes.fromhex(message["command"]))
            )  # fmt: skip
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        if reporter is not None:
            reporter.cancel()
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
    parser.add_argument("--start", help="the DSP's paced clock read this (ISO 8601) ...")
    parser.add_argument("--anchor-epoch", type=float, help="... at this unix time")
    parser.add_argument("--speed", type=float, default=1.0, help="... and runs this fast")
    args = parser.parse_args(argv)
    if args.start is not None:
        clock = Clock("wall", dt.datetime.fromisoformat(args.start), speed=args.speed,
                      paced=True, anchor_epoch=args.anchor_epoch)  # fmt: skip
    else:
        clock = Clock("wall")
    clock.run(lambda: serve(args, clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
