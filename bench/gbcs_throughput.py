"""GBCS codec throughput over the RTDS corpus, against the DCC's own TypeScript parser and
raw `cryptography`, both measured in the same run.

    .venv/bin/python bench/gbcs_throughput.py [--seconds S] [--cli-runs N]

Prints messages/s for decode-only (every tree built), decode as a check decodes (payloads
proved, the trees it does not read left unbuilt: gbcs.payload.Deferred), the security
check (decode + every signature, MAC and decryption), the strict check in process (what
`gbhan gbcs check` runs per message: form, re-encode, security) and `gbhan gbcs check RTDS --keystore K --allow-unverifiable` end to
end from the command line, process start included (best and median of N runs, with one
process and with one per core, once with an empty parser and keystore cache, and without
Python's bytecode cache), beside the start-up of `gbhan --help` and `import gbcs`, each
run's CPU seconds, and the machine's load average while the command lines ran. Command lines run as an installed package runs: their bytecode cached (under
a temporary PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE dropped); the re-encode through gbcs.encode's hand writers against
the construct Structs they mirror; then sign/s and verify/s through gbhan, raw P-256 verify/s
and ECDH/s, and ratios.

The reference is @smartdcc/gbcs-parser's full check (parseGbcsMessage with a keystore, so
every signature and MAC is checked) over the same files, run by bench/dcc_parser_check.js
under node and timed the same way, process start included. The bench prints why it threw
where it did (reasons grouped: on RTDS every throw is its keystore callback asked for a
private key no one holds, and a throw ends that message's parse early) and its rate over
only the messages it parsed whole; the headline ratio stays against its rate over every
file, the more generous to it. Then it and `gbhan gbcs check` (its default processes, and
-j2) run in rounds, one run of each a round, so that both meet a shared machine's load in
the same seconds: best against best, and the median round's ratio. It is looked for under $GBHAN_DCC_TOOLS or build/dcc-tools
(node_modules/@smartdcc/gbcs-parser below it); without node or the package the bench says so
and falls back to the parser's published figure on this machine kind (ANCHOR_FULL).

Where the npm registry does not carry the parser, whoever runs the bench builds it from its
public repository (GPL-3.0, SmartDCCInnovation/gbcs-parser on GitHub) as its own README and
package.json say (its TypeScript compiled by its `build` script; the types it compiles
against come from its devDependencies, @smartdcc/duis-templates among them), and puts the
package's package.json and compiled dist/ under build/dcc-tools/node_modules/
@smartdcc/gbcs-parser (or names another folder with GBHAN_DCC_TOOLS). Nothing of it is
kept in this repository; docs/gbcs.md says more.
"""

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from construct import Container
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator import data  # noqa: E402
from gbcs import asn1, dlms, framing, gbz  # noqa: E402
from gbcs import check as sweep  # noqa: E402
from gbcs.errors import GbcsError  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402
from gbcs.message import Message, decode, encode  # noqa: E402
from gbcs.security import check_message, sign, sign_data, verify_data  # noqa: E402

RTDS = data.rtds()
KEYSTORE = data.rtds_keystore()
CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

# @smartdcc/gbcs-parser on this machine kind (published figures, from the issue): full check
# and decode-only messages per second; used only when it cannot be measured here
ANCHOR_FULL = 2_900
ANCHOR_DECODE = (7_000, 10_000)
GOAL_FULL = 6_000
GOAL_DECODE = 20_000
# the goal for the command line end to end: twice the DCC parser's full check
CLI_GOAL_RATIO = 2
CHECKED = re.compile(r"^checked (\d+) files: .* (\d+) failed$", re.MULTILINE)
DCC_SCRIPT = REPO / "bench" / "dcc_parser_check.js"
DCC_PACKAGE = "@smartdcc/gbcs-parser"


def gbhan_command() -> list[str]:
    """The installed `gbhan` script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("gbhan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tools.cli"]


def timed_run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds of one process, start to exit, its CPU seconds (user + system, with any
    workers it forked: what a run costs whatever else the machine is doing, where wall time
    on a loaded machine measures the load as much as the program) and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if run.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {run.returncode}: {run.stderr[-500:]}")
    return elapsed, cpu, run.stdout


def user_env(pycache: str | None) -> dict[str, str]:
    """The environment of a user's run: Python's bytecode cached (as an installed package's
    is; the session may set PYTHONDONTWRITEBYTECODE, which makes every run compile every
    module again), kept under `pycache` rather than in the tree. None: as this process is."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


# the machine's 1-minute load average, sampled before and after each series of runs: others
# share its cores, and a wall time means little without it
LOADS: list[float] = []


def gbhan_check_args(jobs: int | None) -> list[str]:
    """`gbhan gbcs check RTDS --keystore K --allow-unverifiable [--jobs N]`."""
    args = [*gbhan_command(), "gbcs", "check", str(RTDS), "--keystore", str(KEYSTORE)]
    args += ["--allow-unverifiable"]
    return args if jobs is None else [*args, "--jobs", str(jobs)]


def cli_check(
    runs: int, jobs: int | None, base: dict[str, str], cache: str | None = None
) -> tuple[int, list[float], list[float]]:
    """Messages checked, and the wall and CPU seconds of each `gbhan gbcs check` run with
    `jobs` processes (None: its default) in the environment `base`; `cache`: an
    XDG_CACHE_HOME to run with (an empty one: the parsers compiled, the keystore parsed)."""
    LOADS.append(os.getloadavg()[0])
    check_args = gbhan_check_args(jobs)
    env = dict(base)
    if cache is None:
        timed_run(check_args, env)  # warm the page, bytecode and on-disk parser caches
    checks, cpus, count = [], [], 0
    for _ in range(runs):
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
            env["XDG_CACHE_HOME"] = cache
        elapsed, cpu, out = timed_run(check_args, env)
        found = CHECKED.search(out)
        if found is None or found.group(2) != "0":
            raise SystemExit(f"gbhan gbcs check did not pass RTDS: {out[-500:]}")
        count = int(found.group(1))
        checks.append(elapsed)
        cpus.append(cpu)
    LOADS.append(os.getloadavg()[0])
    return count, checks, cpus


# `gbhan gbcs check -j2` with its process's CPU clock read where it forks its verifying
# process (gbcs.verifier), where it has decoded and judged every message it sends (its
# batches end) and at its end, and the verifier's CPU when reaped: each segment of the
# run's critical path, which a loaded machine's wall time hides
CRITICAL_PATH_PROBE = """
import json, resource, sys, time
from tools import cli
from gbcs import verifier
marks = {}
start, close_jobs = verifier.Verifier.start.__func__, verifier.Verifier.close_jobs

def timed_start(cls, open_keystore):
    marks.setdefault("fork", time.process_time())
    return start(cls, open_keystore)

def timed_close_jobs(self):
    marks.setdefault("decoded", time.process_time())
    return close_jobs(self)

verifier.Verifier.start = classmethod(timed_start)
verifier.Verifier.close_jobs = timed_close_jobs
status = cli.main(sys.argv[1:])
marks["end"] = time.process_time()
children = resource.getrusage(resource.RUSAGE_CHILDREN)
marks["verifier"] = children.ru_utime + children.ru_stime
print(json.dumps(marks), file=sys.stderr)
cli.exit_with(status)  # as the installed script ends
"""


def critical_path(runs: int, env: dict[str, str]) -> dict[str, float]:
    """The CPU seconds of `gbhan gbcs check -j2`'s critical path (the run with the shortest):
    before the fork (interpreter, the command line read), then the longer of the gbhan
    process's part (the codec's imports, listing, decoding and judging every message, the
    results printed) and the verifying process's (cryptography's imports, the keystore,
    every signature, MAC and encrypted part), and the interpreter's exit (the process's
    whole CPU, read when it is reaped, less its verifier's and less what it had used when
    its command returned); their sum is the run's wall time on two otherwise idle cores,
    but for the judging of the last batch after its report comes (tens of microseconds)."""
    args = [sys.executable, "-c", CRITICAL_PATH_PROBE, "gbcs", "check", str(RTDS)]
    args += ["--keystore", str(KEYSTORE), "--allow-unverifiable", "--jobs", "2"]
    best: dict[str, float] = {}
    for _ in range(runs + 1):  # the first warms the caches
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        whole = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        marks = json.loads(run.stderr.strip().splitlines()[-1])
        own = marks["end"] - marks["fork"]
        path = {
            "before the fork": marks["fork"],
            "own part": own,
            "of which decoding": marks["decoded"] - marks["fork"],
            "verifier": marks["verifier"],
            # the probe's process and its verifier, reaped by it: what the process used after
            # its command returned is its exit
            "exit": max(0.0, whole - marks["verifier"] - marks["end"]),
        }
        path["critical path"] = marks["fork"] + max(own, marks["verifier"]) + path["exit"]
        if not best or path["critical path"] < best["critical path"]:
            best = path
    return best


def start_ups(runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall seconds of `gbhan --help`, `python -c 'import gbcs'` and a bare python."""
    commands = {
        "gbhan --help": [*gbhan_command(), "--help"],
        "import gbcs": [sys.executable, "-c", "import gbcs"],
        "python alone": [sys.executable, "-c", "pass"],
    }
    for args in commands.values():
        timed_run(args, env)  # bytecode cached
    return {
        name: statistics.median(timed_run(args, env)[0] for _ in range(max(runs, 5)))
        for name, args in commands.items()
    }


def dcc_tools() -> Path:
    return Path(os.environ.get("GBHAN_DCC_TOOLS") or REPO / "build" / "dcc-tools")


def export_keys(keystore: Keystore, path: Path) -> None:
    """The keystore as dcc_parser_check.js reads it: EUI -> DS/KA -> public/private PEM."""
    pem = serialization.Encoding.PEM
    out: dict[str, dict[str, dict[str, str]]] = {}
    for eui in keystore.euis():
        for usage in ("DS", "KA"):
            entries = keystore.entries(eui, usage, valid_only=False)
            pair: dict[str, str] = {}
            if entries:
                public = entries[0].public_key.public_bytes(
                    pem, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                pair["public"] = public.decode()
            try:
                private = keystore.private_key(eui, usage)
            except GbcsError:  # no private key held: the public one only
                private = None
            if private is not None:
                pair["private"] = private.private_bytes(
                    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ).decode()
            if pair:
                out.setdefault(eui.hex().upper(), {})[usage] = pair
    path.write_text(json.dumps(out))


def dcc_parser(
    files: list[Path],
    keystore: Keystore,
    runs: int,
    rivals: dict[str, tuple[list[str], dict[str, str]]] | None = None,
) -> dict | str:
    """The DCC parser's full check over `files`, end to end under node (the wall and CPU
    seconds of each run and its last report: why messages threw, which did), then the same
    over only the files it parsed whole (a message it throws on is one it stopped early on,
    so its rate over every file flatters it); or why it could not be run.

    `rivals` (name -> command and environment): run in rounds with the parser, one run of
    each a round, so that both meet the machine's load (other work on a shared machine
    comes and goes over a minute) in the same seconds: "rounds" holds each one's walls."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    modules = dcc_tools() / "node_modules"
    env = dict(os.environ, NODE_PATH=str(modules))
    probe = subprocess.run(
        [node, "-e", f"require.resolve({DCC_PACKAGE!r})"], env=env, capture_output=True
    )
    if probe.returncode != 0:
        return f"{DCC_PACKAGE} is not installed under {modules} (see this script's docstring)"

    def series(paths: list[Path], keys: Path) -> tuple[list[float], list[float], dict]:
        args = [node, str(DCC_SCRIPT), str(keys), *map(str, paths)]
        timed_run(args, env)  # warm
        walls, cpus, report = [], [], {}
        for _ in range(runs):
            elapsed, cpu, out = timed_run(args, env)
            walls.append(elapsed)
            cpus.append(cpu)
            report = json.loads(out.strip().splitlines()[-1])
        return walls, cpus, report

    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.json"
        export_keys(keystore, keys)
        walls, cpus, report = series(files, keys)
        threw = set(report.get("threw_files", ()))
        whole = [path for index, path in enumerate(files) if index not in threw]
        parsed_walls, parsed_cpus, parsed_report = series(whole, keys) if whole else ([], [], {})
        rounds: dict[str, list[float]] = {"dcc": []}
        for name, (command, command_env) in (rivals or {}).items():
            rounds[name] = []
            timed_run(command, command_env)  # warm its caches
        for _ in range(runs if rivals else 0):
            rounds["dcc"].append(
                timed_run([node, str(DCC_SCRIPT), str(keys), *map(str, files)], env)[0]
            )
            for name, (command, command_env) in rivals.items():
                rounds[name].append(timed_run(command, command_env)[0])
    return {
        "rounds": rounds,
        "walls": walls,
        "cpus": cpus,
        "report": report,
        "parsed_walls": parsed_walls,
        "parsed_cpus": parsed_cpus,
        "parsed_report": parsed_report,
    }


def struct_encode(message: Message) -> bytes:
    """A message re-encoded through the construct Structs alone (what gbcs.encode's hand
    writers replace), for the re-encode comparison."""
    kind, value = message.payload_kind, message.payload
    if kind in dlms._APDUS:
        content = dlms._APDUS[kind].build(value)
    elif kind == "gbz":
        content = gbz.GbzPayload.build(value)
    elif kind == "gbz-alert":
        content = gbz.ALERT_LAYOUTS[value.get("layout") or "plain"].build(value)
    else:
        content = asn1.encode(value)
    apdu_value = Container(message.header)
    apdu_value.content, apdu_value.signature = content, message.signature
    apdu = framing.GeneralSigning.build(apdu_value)
    if message.envelope is None:
        return apdu
    envelope = Container(message.envelope)
    service = Container(envelope.ciphered_service)
    service.information = apdu + bytes(message.mac or b"")
    envelope.ciphered_service = service
    return framing.GeneralCiphering.build(envelope)


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
    parser.add_argument("--cli-runs", type=int, default=5, help="gbhan gbcs check runs")
    args = parser.parse_args()

    files = sorted(RTDS.glob("*/*.HEX"))
    corpus = [bytes.fromhex(p.read_text().strip()) for p in files]
    print(f"corpus: {len(corpus)} RTDS messages, {sum(map(len, corpus)):,} bytes", flush=True)
    keystore = Keystore.open(KEYSTORE, clock=CLOCK)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1

    # the reference first, so that it and gbhan meet the machine in the same state, then in
    # rounds with gbhan's check (its default processes, and -j2)
    round_cache = tempfile.TemporaryDirectory()
    round_env = user_env(round_cache.name)
    rivals = {
        "default": (gbhan_check_args(None), round_env),
        "-j2": (gbhan_check_args(2), round_env),
    }
    print(f"measuring {DCC_PACKAGE} end to end ({args.cli_runs} runs, then rounds) ...", flush=True)
    dcc = dcc_parser(files, keystore, args.cli_runs, rivals)
    round_cache.cleanup()

    def decode_all():
        for data in corpus:
            decode(data)

    def check_all():
        for data in corpus:
            check_message(decode(data), keystore)

    def decode_as_checked():
        # as a check decodes: payloads proved, the trees it does not read left unbuilt
        for data in corpus:
            decode(data, defer=True)

    print("measuring decode-only ...", flush=True)
    decode_rate = rate(decode_all, args.seconds, len(corpus))
    deferred_rate = rate(decode_as_checked, args.seconds, len(corpus))
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

    # the strict check's re-encode: gbcs.encode (hand writers) against the Structs alone
    messages = [decode(data) for data in corpus]
    assert all(struct_encode(m) == data for m, data in zip(messages, corpus, strict=True))
    print("measuring the re-encode, hand writers and Structs ...", flush=True)
    encode_rate = rate(lambda: [encode(m) for m in messages], args.seconds, len(messages))
    struct_rate = rate(lambda: [struct_encode(m) for m in messages], args.seconds, len(messages))

    print(f"measuring gbhan gbcs check end to end ({args.cli_runs} runs each) ...", flush=True)
    with tempfile.TemporaryDirectory() as pycache:
        env = user_env(pycache)
        cli_count, cli_times, cli_cpus = cli_check(args.cli_runs, None, env)
        _, one_job_times, one_job_cpus = cli_check(args.cli_runs, 1, env)
        _, all_cores_times, all_cores_cpus = cli_check(args.cli_runs, cores, env)
        _, uncached_times, uncached_cpus = cli_check(args.cli_runs, 1, user_env(None))
        with tempfile.TemporaryDirectory() as tmp:
            _, cold_times, _ = cli_check(max(1, args.cli_runs // 2), 1, env, cache=tmp)
        starts = start_ups(args.cli_runs, env)
        path = critical_path(args.cli_runs, env)
    cli_best = cli_count / min(cli_times)
    cli_median = cli_count / statistics.median(cli_times)
    one_job_best = cli_count / min(one_job_times)
    all_cores_best = cli_count / min(all_cores_times)
    uncached_best = cli_count / min(uncached_times)
    cold_best = cli_count / min(cold_times)

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

    one_job_cpu = cli_count / min(one_job_cpus)  # messages per CPU second, one process
    reference_cpu = None
    if isinstance(dcc, str):
        reference, reference_name = ANCHOR_FULL, "DCC published"
        dcc_rows = []
        dcc_note = (
            f"{DCC_PACKAGE} not measured ({dcc}): against its published {ANCHOR_FULL:,} msg/s"
        )
    else:
        walls, cpus, report = dcc["walls"], dcc["cpus"], dcc["report"]
        count = report["messages"]
        reference, reference_name = count / min(walls), "DCC measured"
        reference_cpu = count / min(cpus)
        parsed = report["parsed"]
        dcc_rows = [
            ("DCC parser (best)", reference, "msg/s", "", None),
            ("DCC parser (median)", count / statistics.median(walls), "msg/s", "", None),
            ("DCC parser (parsing only)", count / report["seconds"], "msg/s", "", None),
            ("DCC parser per CPU second", reference_cpu, "msg/s", "", None),
        ]
        whole_rate = None
        if dcc["parsed_walls"]:
            whole_rate = dcc["parsed_report"]["messages"] / min(dcc["parsed_walls"])
            parsing_rate = parsed / report["parsed_seconds"]
            dcc_rows += [
                (
                    "DCC parsed only (best)",
                    whole_rate,
                    "msg/s",
                    "all files",
                    whole_rate / reference,
                ),
                ("DCC parsed only (parsing only)", parsing_rate, "msg/s", "", None),
            ]
        reasons = sorted(report.get("reasons", {}).items(), key=lambda item: -item[1])
        dcc_note = (
            f"{DCC_PACKAGE} measured in this run: {count} messages, {parsed} parsed, "
            f"{report['threw']} threw, {min(walls):.2f}-{max(walls):.2f} s wall"
        )
        if reasons:
            dcc_note += "; why it threw (it stops at the throw, so those messages cost it less):"
            dcc_note += "".join(f"\n  {n:>5}  {reason}" for reason, n in reasons)
        if whole_rate is not None:
            dcc_note += (
                f"\nover the {parsed} messages it parsed whole: {whole_rate:,.0f} msg/s end to "
                f"end ({min(dcc['parsed_walls']):.3f} s best), "
                f"{parsing_rate:,.0f} msg/s parsing only; the headline "
                f"ratio below is against its rate over all {count} files "
                f"({reference:,.0f} msg/s), the more generous to it"
            )
    rounds_note = ""
    if not isinstance(dcc, str) and dcc["rounds"]["dcc"]:
        rounds, count = dcc["rounds"], dcc["report"]["messages"]
        dcc_best = min(rounds["dcc"])
        parts = []
        for name in ("default", "-j2"):
            ratios = [d / g for d, g in zip(rounds["dcc"], rounds[name], strict=True)]
            parts.append(
                f"gbhan {name} {count / min(rounds[name]):,.0f} msg/s best "
                f"({dcc_best / min(rounds[name]):.2f}x best against best, "
                f"{statistics.median(ratios):.2f}x the median round)"
            )
        rounds_note = (
            f"in {len(rounds['dcc'])} rounds, one run of each a round: the DCC parser "
            f"{count / dcc_best:,.0f} msg/s best; " + "; ".join(parts)
        )
    goal_cli = CLI_GOAL_RATIO * reference
    rows = [
        *dcc_rows,
        ("decode-only", decode_rate, "msg/s", f"goal {GOAL_DECODE:,}", decode_rate / GOAL_DECODE),
        (
            "decode, as a check decodes",
            deferred_rate,
            "msg/s",
            "decode-only",
            deferred_rate / decode_rate,
        ),
        ("full check (steady)", full_rate, "msg/s", f"goal {GOAL_FULL:,}", full_rate / GOAL_FULL),
        ("full check (first pass)", cold_full, "msg/s", "", None),
        ("strict check (in process)", strict_rate, "msg/s", "", None),
        ("re-encode, hand writers", encode_rate, "msg/s", "Structs", encode_rate / struct_rate),
        ("re-encode, Structs alone", struct_rate, "msg/s", "", None),
        (
            "gbhan gbcs check (best)",
            cli_best,
            "msg/s",
            f"{CLI_GOAL_RATIO}x {reference_name}",
            cli_best / goal_cli,
        ),
        ("gbhan gbcs check (median)", cli_median, "msg/s", "in process", cli_median / strict_rate),
        ("  ... -j1 (best)", one_job_best, "msg/s", "default", one_job_best / cli_best),
        (f"  ... -j{cores} (best)", all_cores_best, "msg/s", "-j1", all_cores_best / one_job_best),
        (
            "  ... -j1 per CPU second",
            one_job_cpu,
            "msg/s",
            "DCC per CPU s" if reference_cpu else "",
            one_job_cpu / reference_cpu if reference_cpu else None,
        ),
        (
            "  ... -j1, empty parser/key cache",
            cold_best,
            "msg/s",
            "-j1",
            cold_best / one_job_best,
        ),
        (
            "  ... -j1, no bytecode cache",
            uncached_best,
            "msg/s",
            "-j1",
            uncached_best / one_job_best,
        ),
        *[(f"{name} start-up", value * 1000, "ms", "", None) for name, value in starts.items()],
        ("sign (gbhan)", gbhan_sign, "/s", "raw sign", gbhan_sign / raw_sign),
        ("verify (gbhan)", gbhan_verify, "/s", "raw verify", gbhan_verify / raw_verify),
        ("raw P-256 sign", raw_sign, "/s", "", None),
        ("raw P-256 verify", raw_verify, "/s", "", None),
        ("raw P-256 ECDH", raw_ecdh, "/s", "", None),
    ]
    print()
    print(f"{'measure':<34}{'rate':>12}  {'unit':<6}{'against':<18}{'ratio':>8}")
    for name, value, unit, against, ratio in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"{name:<34}{value:>12,.0f}  {unit:<6}{against:<18}{shown:>8}")
    print()
    print(dcc_note)
    if rounds_note:
        print(rounds_note)
    print(
        f"gbhan gbcs check end to end against the DCC parser ({reference_name}): "
        f"{cli_best / reference:.2f}x best, {cli_median / reference:.2f}x median "
        f"(goal {CLI_GOAL_RATIO}x); full check in process {full_rate / reference:.2f}x"
    )
    low, high = ANCHOR_DECODE
    print(
        f"decode-only against the DCC parser's published decode: {decode_rate / high:.2f}x-"
        f"{decode_rate / low:.2f}x"
    )
    print(
        f"gbhan gbcs check: {cli_count} messages in {min(cli_times):.2f}-{max(cli_times):.2f} s "
        f"wall as run (default -j), {min(one_job_times):.2f}-{max(one_job_times):.2f} s with "
        f"-j1, {min(all_cores_times):.2f}-{max(all_cores_times):.2f} s with -j{cores}; "
        f"start-up ~{starts['gbhan --help']:.2f} s; CPU per run {min(one_job_cpus):.2f} s "
        f"with -j1 ({min(uncached_cpus):.2f} s compiling its modules afresh, as with "
        f"PYTHONDONTWRITEBYTECODE), {min(all_cores_cpus):.2f} s with -j{cores}, "
        f"{min(cli_cpus):.2f} s as run; 1-minute load average {min(LOADS):.1f}-"
        f"{max(LOADS):.1f} during the command-line runs on {cores} core(s)"
    )
    print(
        "gbhan gbcs check -j2, CPU seconds along its critical path (best of "
        f"{args.cli_runs}): before the fork {path['before the fork']:.3f}, then its own part "
        f"{path['own part']:.3f} (its decoding done at {path['of which decoding']:.3f}) "
        f"beside its verifying process's {path['verifier']:.3f}, the exit "
        f"{path['exit']:.3f}: {path['critical path']:.3f} s, "
        f"{cli_count / path['critical path']:,.0f} "
        f"messages/s on two idle cores ({cli_count / path['critical path'] / reference:.2f}x "
        f"{reference_name}; goal {CLI_GOAL_RATIO}x)"
    )
    median_cpu = statistics.median(one_job_cpus)
    print(
        f"gbhan gbcs check -j1 CPU seconds per run: best {min(one_job_cpus):.3f}, median "
        f"{median_cpu:.3f} (wall best {min(one_job_times):.3f}, median "
        f"{statistics.median(one_job_times):.3f}); goal: {cli_count} messages in "
        f"{cli_count / goal_cli:.3f} s wall"
    )
    print(
        f"mean message: {statistics.mean(map(len, corpus)):.0f} bytes; "
        f"full check per message {1e6 / full_rate:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
