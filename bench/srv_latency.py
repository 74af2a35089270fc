"""Wall-clock overhead of SRV 7.6 end to end at one premises: signed, MAC'd command in at the
Comms Hub -> tunnel -> ESME checks -> DRLC event to the switch -> relay open and confirmed ->
device-signed response back through the tunnel. p50/p99 over N commands, for the model switch
(simulated clock) and the real firmware on a virtual board (wall clock), with the reference
measured in the same run: the cost of the GBCS crypto alone (verify MAC + signature, sign).

    .venv/bin/python bench/srv_latency.py [--commands 500]

Each command is the RTDS 7.6 SUCCESS command re-originated by the Supplier with a rising
counter (so none is a replay), alternating with a 7.8 reset so the relay really moves.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import data  # noqa: E402
from emulator.clock import Clock  # noqa: E402
from emulator.devices.keys import SUPPLIER, PremisesKeys  # noqa: E402
from emulator.devices.premises import Premises  # noqa: E402
from emulator.devices.reoriginate import reoriginate  # noqa: E402
from gbcs import decode  # noqa: E402
from gbcs.security import sign, verify_data  # noqa: E402

RTDS = data.rtds()
DEACTIVATE = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
RESET = RTDS / "7.8_ECS47Reset" / "ECS47Reset_7.8_SUCCESS_COMMAND_GBCS.HEX"


def commands(keys: PremisesKeys, count: int) -> list[tuple[bytes, bytes]]:
    """(7.6 for slot 3, 7.8 for slot 5 re-aimed at slot 3) pairs with rising counters."""
    signer = keys.signer(SUPPLIER)
    deactivate = bytes.fromhex(DEACTIVATE.read_text())
    reset = bytearray(bytes.fromhex(RESET.read_text()))
    pairs = []
    for n in range(count):
        c = 10_000 + 2 * n
        pairs.append(
            (
                reoriginate(deactivate, SUPPLIER, signer, keys.keystore, counter=c),
                reoriginate(bytes(reset), SUPPLIER, signer, keys.keystore, counter=c + 1),
            )
        )
    return pairs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(keys, switch: str, pairs) -> list[float]:
    clock = Clock(mode="wall" if switch == "board" else "simulated")

    async def main() -> list[float]:
        premises = await Premises.start(
            clock, keys=keys, switch=switch, slots=(3, 5), zcl_timeout_s=2.0
        )
        premises.verify_responses = False  # the back office's work, not the premises'
        times = []
        try:
            for n, (deactivate, reset) in enumerate(pairs):
                started = time.perf_counter()
                execution = await premises.execute(deactivate)
                times.append(time.perf_counter() - started)
                if execution.outcome != "executed" or execution.switch[3]["relay"] != "open":
                    raise SystemExit(f"command {n}: {execution.outcome} {execution.switch}")
                await premises.execute(reset)
                if (n + 1) % 100 == 0:
                    print(f"  {switch}: {n + 1}/{len(pairs)}", file=sys.stderr, flush=True)
        finally:
            await premises.close()
        return times

    return clock.run(main)


def crypto_reference(keys, pairs) -> list[float]:
    """Per command: verify the signature, sign a response (the floor of any ESME)."""
    supplier = keys.anchor_key(SUPPLIER)
    device = keys.device_signing_key(bytes.fromhex("00DB1234567890A0"))
    out = []
    for deactivate, _ in pairs:
        message = decode(deactivate)
        started = time.perf_counter()
        verify_data(message.signed_data, message.signature, supplier)
        sign(message.apdu[: len(message.apdu) - 65], device)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=500)
    args = parser.parse_args()
    keys = PremisesKeys.open()
    pairs = commands(keys, args.commands)
    reference = crypto_reference(keys, pairs)
    ref50 = statistics.median(reference)
    print(f"SRV 7.6 end to end, {args.commands} commands (wall-clock ms)")
    print(f"{'':28}{'p50':>9}{'p99':>9}{'max':>9}{'p50/ref':>9}")
    print(
        f"{'reference: GBCS crypto only':28}{ref50 * 1e3:9.2f}"
        f"{percentile(reference, 99) * 1e3:9.2f}{max(reference) * 1e3:9.2f}{1.0:9.1f}"
    )
    for switch, aim in (("model", 50), ("board", 250)):
        times = run(keys, switch, pairs)
        p50, p99 = statistics.median(times), percentile(times, 99)
        print(
            f"{switch + ' switch':28}{p50 * 1e3:9.2f}{p99 * 1e3:9.2f}{max(times) * 1e3:9.2f}"
            f"{p50 / ref50:9.1f}   aim p99 <= {aim} ms: {'met' if p99 * 1e3 <= aim else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
