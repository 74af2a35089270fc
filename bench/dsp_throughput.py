"""DSP throughput against the real emulated premises: DUIS requests/s through schema → XML
signature → eligibility → pre-command → the user's GBCS signing → MAC as ACB → WAN route →
Comms Hub → ESME → switch (ZCL on the emulated HAN) → signed/MAC'd device response → signed
DUIS response at the user's endpoint, in-process on a simulated clock with a zero-latency WAN.

The DSP is `assembly.make_dsp` (what `gbhan dsp serve` runs) and the premises is
`emulator.devices.premises.Premises` as `premises_factory.build_premises` builds it. Wall time
is measured, so the figures are CPU cost; the simulated HAN/WAN time is free. References
measured in the same run: the schema + XML signature check of one request (the least every
request pays) and one GBCS sign + verify (the least a critical command pays).

    .venv/bin/python bench/dsp_throughput.py [--requests 150]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator import data  # noqa: E402
from emulator.backoffice import document, xmlsig  # noqa: E402
from emulator.backoffice.assembly import make_dsp  # noqa: E402
from emulator.backoffice.premises_factory import build_premises  # noqa: E402
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user  # noqa: E402
from emulator.backoffice.wan import Wan  # noqa: E402
from emulator.clock import Clock  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402
from gbcs.security import sign as gbcs_sign  # noqa: E402
from gbcs.security import verify_apdu  # noqa: E402

DUIS = data.duis()
DCCBOXED = data.dccboxed_keystore()
RTDS = data.rtds()
RTDS_KEYSTORE = data.rtds_keystore()
GBCS_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)  # DCC Boxed's GBCS certificates held then
PRECOMMAND = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX"

MIX = ["ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML",  # critical: T, sign, S
       "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML",  # non-critical, MAC'd
       "ECS47Reset_7.8_SUCCESS_REQUEST_DUIS.XML"]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def gbcs_sign_verify_s(keys: Keystore, rounds: int = 200) -> float:
    """One GBCS ECDSA sign + verify of the 7.6 pre-command, as the user and meter do it."""
    precommand = bytes.fromhex(PRECOMMAND.read_text().strip())
    private = keys.ds_private_key("90B3D51F30020000")
    public = private.public_key()
    t0 = time.perf_counter()
    for _ in range(rounds):
        verify_apdu(gbcs_sign(precommand, private), public)
    return (time.perf_counter() - t0) / rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=150)
    args = parser.parse_args()
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def run():
        dsp = make_dsp(schema_dir=DUIS / "schema", dccboxed=DCCBOXED, rtds=RTDS,
                       rtds_keystore=RTDS_KEYSTORE, clock=clock, gbcs_date=GBCS_DATE,
                       wan=Wan(clock, latency_s=0.0))  # fmt: skip
        premises = await build_premises(clock)
        dsp.attach(premises)
        xml_keys = Keystore.open(DCCBOXED)
        gbcs_keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        trusted = xmlsig.TrustedCertificates.from_keystore(xml_keys)
        user = make_user("dno", gbcs_keys, dsp.schema, trusted, InProcessTransport(dsp))
        dsp.delivery = Deliveries(user)
        bodies = [user.prepare((DUIS / MIX[i % len(MIX)]).read_bytes(), 10_000 + i)
                  for i in range(args.requests)]  # fmt: skip
        t0 = time.perf_counter()
        for body in bodies:
            document.check(body, dsp.schema, trusted, require_signature=True)
        check_s = (time.perf_counter() - t0) / len(bodies)
        crypto_s = gbcs_sign_verify_s(gbcs_keys)
        per_srv: dict[str, list[float]] = {}
        t0 = time.perf_counter()
        for i, body in enumerate(bodies):
            start = time.perf_counter()
            answers = await user.run(body, 60)
            elapsed = time.perf_counter() - start
            assert answers[-1].code == "I0", [a.code for a in answers]
            per_srv.setdefault(MIX[i % len(MIX)].split("_")[1], []).append(elapsed)
            if (i + 1) % 50 == 0:
                print(f"  {i + 1}/{len(bodies)}", file=sys.stderr, flush=True)
        total = time.perf_counter() - t0
        await dsp.drain()
        await premises.close()
        return total, per_srv, check_s, crypto_s, dsp

    total, per_srv, check_s, crypto_s, dsp = clock.run(run)
    every = [s for values in per_srv.values() for s in values]
    n = len(every)
    p99 = percentile(every, 0.99)
    print(f"DSP + real premises (Comms Hub, ESME, HCALCS models; simulated clock, zero-latency "
          f"WAN), {n} SRVs from the DNO, one at a time")  # fmt: skip
    print(f"{'':34} {'count':>6} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
    for srv, values in per_srv.items():
        print(f"{'SRV ' + srv:34} {len(values):>6} {statistics.median(values) * 1e3:>10.2f} "
              f"{percentile(values, 0.99) * 1e3:>8.2f} {max(values) * 1e3:>8.2f}")  # fmt: skip
    print(f"{'all':34} {n:>6} {statistics.median(every) * 1e3:>10.2f} {p99 * 1e3:>8.2f} "
          f"{max(every) * 1e3:>8.2f}")  # fmt: skip
    print(f"{'ref: schema + XML signature check':34} {'':>6} {check_s * 1e3:>10.2f}")
    print(f"{'ref: one GBCS sign + verify':34} {'':>6} {crypto_s * 1e3:>10.2f}")
    print()
    print(f"throughput: {n / total:.1f} SRV/s end to end (the user's signing and checks included)")
    print(f"p99 added latency / XML check reference: {p99 / check_s:.1f}x; "
          f"/ GBCS sign+verify reference: {p99 / crypto_s:.1f}x")  # fmt: skip
    late = len(dsp.times.late())
    print(f"DSP response-time records: {len(dsp.times.completed())}, over 30 s: {late}; "
          f"routed {dsp.stats.routed}, device responses {dsp.stats.device_responses}")  # fmt: skip
    if dsp.stats.device_responses != n:
        raise SystemExit("not every SRV got a device response")


if __name__ == "__main__":
    main()
