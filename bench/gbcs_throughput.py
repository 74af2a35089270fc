"""GBCS codec throughput over the RTDS corpus, against raw `cryptography` measured in the
same run and the DCC's own TypeScript parser's published figures on this machine kind.

    .venv/bin/python bench/gbcs_throughput.py [--seconds S] [--cli-runs N]

Prints messages/s for decode-only, the security check (decode + every signature, MAC and
decryption), the strict check in process (what `gbhan gbcs check` runs per message: form,
re-encode, security) and `gbhan gbcs check RTDS --keystore K --allow-unverifiable` end to
end from the command line, process start included (best and median of N runs, beside the
start-up of `gbhan --help` in the same run); then sign/s and verify/s through gbhan, raw
P-256 verify/s and ECDH/s, and ratios.
"""

import argparse
import datetime as dt
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator import data  # noqa: E402
from gbcs import check as sweep  # noqa: E402
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
# the goal for the command line end to end: twice the DCC parser's full check
GOAL_CLI = 2 * ANCHOR_FULL
CHECKED = re.compile(r"^checked (\d+) files: .* (\d+) failed$", re.MULTILINE)


def gbhan_command() -> list[str]:
    """The installed `gbhan` script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("gbhan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tools.cli"]


def timed_run(args: list[str]) -> tuple[float, str]:
    """Wall seconds of one process, start to exit, and its standard output."""
    start = time.perf_counter()
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {run.returncode}: {run.stderr[-500:]}")
    return elapsed, run.stdout


def cli_check(runs: int) -> tuple[int, list[float], list[float]]:
    """Messages checked, wall seconds of each `gbhan gbcs check` run and of `gbhan --help`."""
    command = gbhan_command()
    check_args = [*command, "gbcs", "check", str(RTDS), "--keystore", str(KEYSTORE)]
    check_args.append("--allow-unverifiable")
    timed_run(check_args)  # warm the page cache and any on-disk parser cache
    checks, helps, count = [], [], 0
    for _ in range(runs):
        elapsed, out = timed_run(check_args)
        found = CHECKED.search(out)
        if found is None or found.group(2) != "0":
            raise SystemExit(f"gbhan gbcs check did not pass RTDS: {out[-500:]}")
        count = int(found.group(1))
        checks.append(elapsed)
        helps.append(timed_run([*command, "--help"])[0])
    return count, checks, helps


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
    parser.add_argument("--cli-runs", type=int, default=3, help="gbhan gbcs check runs")
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

    # the strict check as `gbhan gbcs check` runs it, without --at (validity not judged)
    cli_keystore = Keystore.open(KEYSTORE, check_validity=False)
    sources = list(sweep.iter_sources([str(RTDS)]))

    def strict_all():
        sweep.check_sources(sources, cli_keystore, allow_unverifiable=True)

    print("measuring strict check in process ...", flush=True)
    strict_rate = rate(strict_all, args.seconds, len(sources))
    print(f"measuring gbhan gbcs check end to end ({args.cli_runs} runs) ...", flush=True)
    cli_count, cli_times, help_times = cli_check(args.cli_runs)
    cli_best = cli_count / min(cli_times)
    cli_median = cli_count / statistics.median(cli_times)
    startup = statistics.median(help_times)

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
        ("strict check (in process)", strict_rate, "msg/s", "", None),
        ("gbhan gbcs check (best)", cli_best, "msg/s", f"goal {GOAL_CLI:,}", cli_best / GOAL_CLI),
        ("gbhan gbcs check (median)", cli_median, "msg/s", "in process", cli_median / strict_rate),
        ("gbhan --help start-up", startup * 1000, "ms", "", None),
        ("sign (gbhan)", gbhan_sign, "/s", "raw sign", gbhan_sign / raw_sign),
        ("verify (gbhan)", gbhan_verify, "/s", "raw verify", gbhan_verify / raw_verify),
        ("raw P-256 sign", raw_sign, "/s", "", None),
        ("raw P-256 verify", raw_verify, "/s", "", None),
        ("raw P-256 ECDH", raw_ecdh, "/s", "", None),
    ]
    print()
    print(f"{'measure':<28}{'rate':>12}  {'unit':<6}{'against':<16}{'ratio':>8}")
    for name, value, unit, against, ratio in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"{name:<28}{value:>12,.0f}  {unit:<6}{against:<16}{shown:>8}")
    print()
    low, high = ANCHOR_DECODE
    print(
        f"against @smartdcc/gbcs-parser: decode-only {decode_rate / high:.2f}x-"
        f"{decode_rate / low:.2f}x, full check {full_rate / ANCHOR_FULL:.2f}x, "
        f"gbhan gbcs check end to end {cli_best / ANCHOR_FULL:.2f}x (best of {len(cli_times)})"
    )
    print(
        f"gbhan gbcs check: {cli_count} messages in {min(cli_times):.2f}-{max(cli_times):.2f} s "
        f"wall, of which start-up ~{startup:.2f} s"
    )
    print(
        f"mean message: {statistics.mean(map(len, corpus)):.0f} bytes; "
        f"full check per message {1e6 / full_rate:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
