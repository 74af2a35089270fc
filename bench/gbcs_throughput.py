"""GBCS codec throughput over the RTDS corpus, against raw `cryptography` measured in the
same run and the DCC's own TypeScript parser's published figures on this machine kind.

    .venv/bin/python bench/gbcs_throughput.py [--seconds S]

Prints messages/s for decode-only and the full check (decode + every signature, MAC and
decryption), sign/s and verify/s through gbhan, raw P-256 verify/s and ECDH/s, and ratios.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator import data  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402
from gbcs.message import decode  # noqa: E402
from gbcs.security import check_message, sign, sign_data, verify_data  # noqa: E402

RTDS = data.rtds()
KEYSTORE = data.rtds_keystore()
CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

# @smartdcc/gbcs-parser on this machine kind (figures from the issue): full check and
# decode-only messages per second.
ANCHOR_FULL = 2_900
ANCHOR_DECODE = (7_000, 10_000)
GOAL_FULL = 6_000
GOAL_DECODE = 20_000


def rate(fn, seconds: float, per_call: int = 1) -> float:
    """Calls per second of fn, best of several rounds lasting about `seconds` in all."""
    fn()  # warm
    rounds = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 3:
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < seconds / 5:
            fn()
            count += 1
        rounds.append(count * per_call / (time.perf_counter() - start))
    return max(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    files = sorted(RTDS.glob("*/*.HEX"))
    corpus = [bytes.fromhex(p.read_text().strip()) for p in files]
    print(f"corpus: {len(corpus)} RTDS messages, {sum(map(len, corpus)):,} bytes", flush=True)
    keystore = Keystore.open(KEYSTORE, clock=CLOCK)

    def decode_all():
        for data in corpus:
            decode(data)

    def check_all():
        for data in corpus:
            check_message(decode(data), keystore)

    print("measuring decode-only ...", flush=True)
    decode_rate = rate(decode_all, args.seconds, len(corpus))
    start = time.perf_counter()
    check_all()
    cold_full = len(corpus) / (time.perf_counter() - start)
    print("measuring full check ...", flush=True)
    full_rate = rate(check_all, args.seconds, len(corpus))

    # signing and verifying one pre-command, through gbhan and raw
    pre_path = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX"
    precommand = bytes.fromhex(pre_path.read_text().strip())
    supplier = bytes.fromhex("90B3D51F30010000")
    private = keystore.ds_private_key(supplier)
    public = private.public_key()
    data = precommand[1:]
    signature = sign_data(data, private)
    der = private.sign(data, ec.ECDSA(hashes.SHA256()))
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()

    print("measuring signatures and ECDH ...", flush=True)
    gbhan_sign = rate(lambda: sign(precommand, private), args.seconds)
    gbhan_verify = rate(lambda: verify_data(data, signature, public), args.seconds)
    raw_sign = rate(lambda: private.sign(data, ec.ECDSA(hashes.SHA256())), args.seconds)
    raw_verify = rate(lambda: public.verify(der, data, ec.ECDSA(hashes.SHA256())), args.seconds)
    raw_ecdh = rate(lambda: private.exchange(ec.ECDH(), peer), args.seconds)

    rows = [
        ("decode-only", decode_rate, "msg/s", f"goal {GOAL_DECODE:,}", decode_rate / GOAL_DECODE),
        (
            "full check (steady)",
            full_rate,
            "msg/s",
            f"goal {GOAL_FULL:,}",
            full_rate / GOAL_FULL,
        ),
        ("full check (first pass)", cold_full, "msg/s", "", None),
        ("sign (gbhan)", gbhan_sign, "/s", "raw sign", gbhan_sign / raw_sign),
        ("verify (gbhan)", gbhan_verify, "/s", "raw verify", gbhan_verify / raw_verify),
        ("raw P-256 sign", raw_sign, "/s", "", None),
        ("raw P-256 verify", raw_verify, "/s", "", None),
        ("raw P-256 ECDH", raw_ecdh, "/s", "", None),
    ]
    print()
    print(f"{'measure':<26}{'rate':>12}  {'unit':<6}{'against':<16}{'ratio':>8}")
    for name, value, unit, against, ratio in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"{name:<26}{value:>12,.0f}  {unit:<6}{against:<16}{shown:>8}")
    print()
    low, high = ANCHOR_DECODE
    print(
        f"against @smartdcc/gbcs-parser: decode-only {decode_rate / high:.2f}x-"
        f"{decode_rate / low:.2f}x, full check {full_rate / ANCHOR_FULL:.2f}x"
    )
    print(
        f"mean message: {statistics.mean(map(len, corpus)):.0f} bytes; "
        f"full check per message {1e6 / full_rate:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
