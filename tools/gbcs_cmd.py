"""`gbhan gbcs ...`: decode, encode, sign, verify and the strict conformance check, for
people checking the GBCS messages their devices and systems produce.

decode, verify and check take any number of sources: files (hex, base64 or binary),
folders (every *.hex below), hex or base64 strings of any length, or `-` for standard input
(one message a line). With --json each message is one JSON line naming its source; check's
totals are the last line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gbcs.errors import GbcsError, InputError
from gbcs.verifier import KeystoreUnavailable, Verifier, reap_ended

if TYPE_CHECKING:
    from gbcs.keystore import Keystore

# The codec's modules are imported where each command runs, not here: `gbhan gbcs check`
# forks the process that verifies signatures and MACs before it imports the codec, and
# that process loads cryptography and the keystore while this one loads the codec
# (gbcs.verifier); imported here, this process would load all of them before the fork.

# the running-task count register() read for `gbhan gbcs check` (idle_cores' first look)
_EARLIER_LOOKS: list[float | None] = []
SOURCES_HELP = "files (hex, base64 or binary), folders of *.hex, hex or base64 strings, or -"


def register(sub, only: str | None = None) -> None:
    """The `gbcs` group's parsers. `only`: the subcommand this run names (SUBCOMMANDS), whose
    parser alone is built: argparse makes each parser with its help texts and a gettext
    lookup for each, ~1.5 ms of a `gbhan gbcs check` start for parsers the run never uses.
    Any other word (-h, a mistyped name) builds them all, to list or suggest them."""
    if only == "check":
        # idle_cores' first look, a few milliseconds before its second (cmd_check): the
        # check forks first thing, so its second look comes before anything else it does
        _EARLIER_LOOKS[:] = [_busy_now()]
    gbcs = sub.add_parser("gbcs", help="GBCS codec: decode, encode, sign, verify, check")
    cmds = gbcs.add_subparsers(dest="gbcs_command", required=True)
    for name, add in _PARSERS.items():
        if only not in _PARSERS or only == name:
            add(cmds)
    for name in ("decode", "verify", "check", "match"):
        if name in cmds.choices:
            cmds.choices[name].add_argument(
                "--acb",
                action="append",
                type=_eui,
                metavar="EUI",
                help="the Access Control Broker's EUI (default: the keystore's role-04 "
                "certificate)",
            )


def _register_decode(cmds) -> None:
    p = cmds.add_parser("decode", help="show every layer of each message")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCES_HELP)
    p.add_argument("--keystore", action="append", type=Path, help="PEM folder or JSON keystore")
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument("--json", action="store_true", help="JSON Lines instead of the text tree")
    p.set_defaults(func=cmd_decode)


def _register_sign(cmds) -> None:
    p = cmds.add_parser("sign", help="sign a pre-command with a DS private key")
    p.add_argument("precommand", help="pre-command file or string (hex or base64), or -")
    p.add_argument("--key", required=True, type=Path, help="PKCS#8 PEM private key")
    p.add_argument("--out", type=Path, help="write the signed APDU as hex here")
    p.set_defaults(func=cmd_sign)


def _register_verify(cmds) -> None:
    p = cmds.add_parser("verify", help="check signature, MAC and encrypted parts")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCES_HELP)
    p.add_argument("--keystore", action="append", type=Path, required=True)
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument("--json", action="store_true", help="JSON Lines: each message's checks")
    p.set_defaults(func=cmd_verify)


def _register_check(cmds) -> None:
    p = cmds.add_parser(
        "check",
        help="strict conformance check of messages (every *.hex below a folder)",
        description="Fails every message whose form or authenticity cannot be proved; each "
        "failure names its rule and byte offset. Exit 0: every message passed; 1: some "
        "failed; 2: a source or keystore could not be read, or a worker process died.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCES_HELP)
    p.add_argument("--keystore", action="append", type=Path)
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument(
        "--allow-unverifiable",
        action="store_true",
        help="pass a signature, MAC or encrypted part no key is held for (listed, not failed)",
    )
    p.add_argument(
        "--json", action="store_true", help="JSON Lines: one per message, the totals last"
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        help="processes checking at once (default: the cores not already busy: this "
        "machine's cores less the tasks running now, at least 1). With 2 and a keystore, "
        "this one decodes and judges while a forked one verifies signatures, MACs and "
        "encrypted parts; otherwise this one and N-1 forked workers each check a share. "
        "Output, order and exit status are the same for any number",
    )
    p.set_defaults(func=cmd_check, quick_exit=True)  # see tools.cli.exit_with


def _register_match(cmds) -> None:
    p = cmds.add_parser(
        "match",
        help="does RESPONSE answer COMMAND?",
        description="Same use case, a command answered by a response, the counter echoed, "
        "originator and target swapped, the DLMS invoke id answered, and each message "
        "passing the strict check. Exit 0: it answers; 1: it does not.",
    )
    p.add_argument("command", help="the command: a file or string (hex or base64), or -")
    p.add_argument("response", help="the response, likewise")
    p.add_argument("--keystore", action="append", type=Path)
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument(
        "--allow-unverifiable",
        action="store_true",
        help="pass a signature or MAC no key is held for (listed, not failed)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_match)


def _register_gbt(cmds) -> None:
    from gbcs import gbt

    gbt_parser = cmds.add_parser(
        "gbt",
        help="General Block Transfer: split a large message into segments, join them back",
        description="The layout gbhan assumes is in docs/gbt.md (no GBT vector exists). A use "
        f"case sends at most {gbt.USE_CASE_MAX_SEGMENTS} segments: split and join refuse more.",
    )
    actions = gbt_parser.add_subparsers(dest="gbt_command", required=True)
    p = actions.add_parser(
        "split",
        help="cut one message into GBT segments (header values from its own grouping header)",
    )
    p.add_argument("message", help="the message: a file or string (hex or base64), or -")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--segment-size",
        type=int,
        help=f"most bytes a whole segment may take (default {gbt.USE_CASE_SEGMENT_SIZE})",
    )
    size.add_argument("--block-size", type=int, help="block-data bytes per segment")
    p.add_argument("--window", type=int, default=1, help="window field, 0-63 (default 1)")
    p.add_argument("--streaming", action="store_true", help="set the streaming bit")
    p.add_argument(
        "--out", type=Path, help="write segment-NN.hex files into this folder (else stdout)"
    )
    p.set_defaults(func=cmd_gbt_split)
    p = actions.add_parser("join", help="reassemble GBT segments, in any order, into the message")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="segment files (hex, base64 or binary, several back to back allowed), folders "
        "of *.hex, hex strings, or - (one segment a line)",
    )
    p.add_argument("--out", type=Path, help="write the message as hex here (else stdout)")
    p.set_defaults(func=cmd_gbt_join)


# subcommand -> the function that adds its parser, in the order `gbhan gbcs -h` lists them
_PARSERS = {
    "decode": _register_decode,
    "sign": _register_sign,
    "verify": _register_verify,
    "check": _register_check,
    "match": _register_match,
    "gbt": _register_gbt,
}
SUBCOMMANDS = tuple(_PARSERS)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def idle_cores(earlier: float | None = None) -> int:
    """The cores not already busy: cores less the tasks running besides this one, rounded,
    at least 1. Workers on busy cores only queue behind the work already there (measured:
    on a 2-core machine at load 8, two workers took longer than one). Busy is the kernel's
    count of runnable tasks (/proc/loadavg) now and at `earlier`, a count taken a little
    before (the lesser: a task seen once, such as the caller's own process finishing its
    spawn or a kernel thread, is passing; one seen at both is working), not the 1-minute
    load average, which still counts work that ended up to a minute ago: just after a
    build, a test run or a benchmark it took one worker on an idle machine. Without that
    count (not Linux), the 1-minute average; without either, every core."""
    cores = _cores()
    busy = _busy_now()
    if busy is None:
        return cores
    if earlier is not None:
        busy = min(busy, earlier)
    return max(1, min(cores, round(cores - busy)))


def _busy_now() -> float | None:
    """Tasks running or ready to run besides this process, or None if unknown."""
    try:
        with open("/proc/loadavg", "rb") as loadavg:
            running = loadavg.read().split()[3].split(b"/")[0]
        return max(0, int(running) - 1)  # the count includes the task reading it
    except (OSError, IndexError, ValueError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average here: assume the cores are free
        return None


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1 job, not {value}")
    return value


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _eui(text: str) -> bytes:
    from gbcs.keystore import as_eui

    try:
        return as_eui(text)
    except GbcsError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def _sources(args) -> list[str]:
    """Resolve the sources up front, so a bad one stops the run before any output."""
    from gbcs import judge

    try:
        judge.resolve_sources(args.sources)
    except InputError as exc:
        print(f"gbhan: {exc.detail}", file=sys.stderr)
        raise SystemExit(2) from None
    return args.sources


def read_source(source: str) -> bytes:
    """Exactly one message from a file, a hex or base64 string, or - (standard input)."""
    from gbcs import judge

    try:
        found = list(judge.iter_sources([source], sys.stdin.buffer))
    except InputError as exc:
        raise SystemExit(f"gbhan: {exc.detail}") from None
    if len(found) != 1:
        raise SystemExit(f"gbhan: {source!r} holds {len(found)} messages, not one")
    if found[0].data is None:
        raise SystemExit(f"gbhan: {found[0].name}: {found[0].error}")
    return found[0].data


def open_keystore(paths, at, acbs=None) -> Keystore:
    """The keystore the options name (GbcsError when it cannot be read)."""
    from gbcs.keystore import Keystore
    from gbcs.roles import Role

    # without --at, validity dates are not judged (stored vectors outlive their certificates)
    keystore = Keystore.open(*paths, clock=at, check_validity=at is not None, cache=True)
    for eui in acbs or ():
        keystore.add_anchor(Role.ACCESS_CONTROL_BROKER, eui)
    return keystore


def _checker(paths, at, acbs):
    """What a two-process check's verifying process checks with: run there, so that it,
    not the checking process, imports cryptography and opens the keystore."""
    from gbcs.security import check_inputs

    keystore = open_keystore(paths, at, acbs)
    return lambda inputs: check_inputs(inputs, keystore)[0]


def load_keystore(paths, at, acbs=None) -> Keystore | None:
    """open_keystore, or None without --keystore; one that cannot be read is said, exit 2."""
    if not paths:
        return None
    try:
        return open_keystore(paths, at, acbs)
    except GbcsError as exc:
        print(f"gbhan: keystore: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _line(obj: dict) -> None:
    import json  # here: --json output only, not every check's start-up

    print(json.dumps(obj, default=str), flush=True)


def cmd_decode(args) -> int:
    # the names tables (render) are a tenth of `gbhan gbcs check`'s imports
    from gbcs import judge, render
    from gbcs.message import decode
    from gbcs.security import check_message

    sources = _sources(args)
    keystore = load_keystore(args.keystore, args.at, args.acb)
    several = len(sources) > 1
    status = 0
    for number, source in enumerate(judge.iter_sources(sources, sys.stdin.buffer)):
        if source.data is None:
            status = 1
            _decode_failed(args, source.name, "input", source.error, None)
            continue
        try:
            message = decode(source.data)
        except GbcsError as exc:
            status = 1
            _decode_failed(args, source.name, exc.layer, exc.detail, exc.offset)
            continue
        report = check_message(message, keystore) if keystore is not None else None
        if report is not None and report.failed:
            status = 1
        if args.json:
            _line({"source": source.name, **render.message_dict(message, report)})
        else:
            if several or number:
                print(f"== {source.name}")
            print(render.message_text(message, report))
    return status


def _decode_failed(args, name: str, layer: str, detail: str, offset: int | None) -> None:
    if args.json:
        _line({"source": name, "error": {"layer": layer, "offset": offset, "detail": detail}})
    else:
        where = f" at byte {offset} (0x{offset:X})" if offset is not None else ""
        print(f"{name}: decode failed: {layer}{where}: {detail}", file=sys.stderr)


def cmd_sign(args) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from gbcs.security import sign

    try:
        key = load_pem_private_key(args.key.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        print(f"gbhan: cannot load key {args.key}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        print(f"gbhan: cannot load key {args.key}: not an EC (P-256) private key",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        signed = sign(read_source(args.precommand), key)
    except GbcsError as exc:
        print(f"sign failed: {exc}", file=sys.stderr)
        return 1
    _emit_hex(signed, args.out)
    return 0


def cmd_verify(args) -> int:
    from gbcs import judge
    from gbcs.message import decode
    from gbcs.security import check_message

    sources = _sources(args)
    keystore = load_keystore(args.keystore, args.at, args.acb)
    assert keystore is not None  # argparse requires --keystore for verify
    several = len(sources) > 1
    status = 0
    for number, source in enumerate(judge.iter_sources(sources, sys.stdin.buffer)):
        try:
            if source.data is None:
                raise InputError("input", source.error)
            message = decode(source.data)
        except GbcsError as exc:
            status = 1
            _decode_failed(args, source.name, exc.layer, exc.detail, exc.offset)
            continue
        report = check_message(message, keystore)
        status = max(status, 1 if report.failed else 0)
        if args.json:
            _line({"source": source.name, "security": report.as_dict()})
            continue
        if several or number:
            print(f"== {source.name}")
        for result in report.checks:
            key = f" [{result.key}]" if result.key else ""
            print(f"{result}{key}")
        print(f"outcome: {report.outcome}")
    return status


def cmd_check(args) -> int:
    if args.jobs is not None:
        jobs = args.jobs
    else:  # idle_cores' first look, taken as the parser was built, or now
        jobs = idle_cores(_EARLIER_LOOKS.pop() if _EARLIER_LOOKS else _busy_now())
    verifier = None
    if jobs == 2 and args.keystore:
        # first, before the codec's imports: the verifying process opens the keystore
        # (loading cryptography) while this one loads the codec (gbcs.verifier)
        verifier = Verifier.start(lambda: _checker(args.keystore, args.at, args.acb))
    from gbcs import judge

    try:
        sources = _sources(args)
        keystore = None if verifier is not None else load_keystore(args.keystore, args.at, args.acb)
    except BaseException:
        if verifier is not None:
            verifier.stop()
        raise
    said = args.json  # the line that opens the output: said before the first result

    def announce() -> None:
        nonlocal said
        if said:
            return
        said = True
        clock = "certificate validity not checked (give --at to pin a clock)"
        if args.at is not None:
            clock = f"certificate validity checked at {args.at.isoformat()}"
        print(f"checking {' '.join(sources)}; {clock}", file=sys.stderr)

    counting = sys.stderr.isatty()  # asked once: a system call each message otherwise

    def progress(index: int, result: judge.FileResult) -> None:
        announce()
        if args.json:
            _line(result.as_dict())
            return
        for verdict in result.verdicts:
            print(f"{result.name}: {verdict}", flush=True)
        for verdict in result.allowed:
            print(f"{result.name}: allowed: {verdict}", flush=True)
        if counting and (index + 1) % 50 == 0:
            print(f"  {index + 1} checked", end="\r", file=sys.stderr, flush=True)

    named = judge.iter_sources(sources, sys.stdin.buffer, read=False)
    allow = args.allow_unverifiable
    try:
        if verifier is not None:
            totals = judge.check_with_verifier(named, verifier, progress, allow_unverifiable=allow)
        else:
            from gbcs import check as sweep

            totals = sweep.check_sources(
                named, keystore, progress, allow_unverifiable=allow, jobs=jobs
            )
    except KeystoreUnavailable as exc:  # said by the verifying process, before any output
        print(f"gbhan: keystore: {exc.detail}", file=sys.stderr)
        return 2
    except GbcsError as exc:  # the sweep itself broke (a worker died), not a message
        print(f"gbhan: {exc}", file=sys.stderr)
        return 2
    announce()
    if args.json:
        _line({"totals": totals.as_dict()})
    else:
        print(totals.line())
    reap_ended(wait=True)  # the verifying process, ending by itself meanwhile
    # the check is done and said. The installed script then ends at once (quick_exit, see
    # tools.cli.exit_with); a caller of cli.main goes on to the interpreter's exit, whose
    # last full collection walks every object the codec and the sweep made (~17 ms of a
    # 0.2 s run): frozen, they are still freed at exit by their reference counts.
    gc.freeze()
    return 0 if totals.failed == 0 else 1


def cmd_match(args) -> int:
    from gbcs import match

    command, response = read_source(args.command), read_source(args.response)
    keystore = load_keystore(args.keystore, args.at, args.acb)
    result = match(
        command,
        response,
        keystore,
        allow_unverifiable=args.allow_unverifiable,
        names=(args.command, args.response),
    )
    if args.json:
        _line(result.as_dict())
    else:
        for line in result.failures():
            print(line)
        for which, part in (("command", result.command), ("response", result.response)):
            for verdict in part.allowed:
                print(f"{which}: allowed: {verdict}")
        print("matched: the response answers the command" if not result.failed else
              "not matched")  # fmt: skip
    return 1 if result.failed else 0


def cmd_gbt_split(args) -> int:
    from gbcs import gbt
    from gbcs.message import decode

    data = read_source(args.message)
    try:
        message = decode(data)
        sizes = (
            {"block_size": args.block_size}
            if args.block_size is not None
            else {"segment_size": args.segment_size or gbt.USE_CASE_SEGMENT_SIZE}
        )
        segments = gbt.segment(
            data,
            originator=message.originator,
            recipient=message.target,
            cra=message.cra_flag,
            counter=message.counter,
            message_code=message.message_code,
            window=args.window,
            streaming=args.streaming,
            max_segments=gbt.USE_CASE_MAX_SEGMENTS,
            **sizes,
        )
    except GbcsError as exc:
        print(f"gbt split failed: {exc}", file=sys.stderr)
        return 1
    if args.out is None:
        for raw in segments:
            print(raw.hex().upper())
        return 0
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for number, raw in enumerate(segments, 1):
            (args.out / f"segment-{number:02d}.hex").write_text(raw.hex().upper() + "\n")
    except OSError as exc:
        print(f"gbhan: {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{len(segments)} segments written to {args.out}", file=sys.stderr)
    return 0


def cmd_gbt_join(args) -> int:
    from gbcs import gbt, judge

    segments: list[bytes] = []
    try:
        for source in judge.iter_sources(_sources(args), sys.stdin.buffer):
            if source.data is None:
                raise InputError("input", f"{source.name}: {source.error}")
            segments.extend(gbt.split_segments(source.data))
        whole = gbt.reassemble(segments, max_segments=gbt.USE_CASE_MAX_SEGMENTS)
    except GbcsError as exc:
        print(f"gbt join failed: {exc}", file=sys.stderr)
        return 1
    try:
        _emit_hex(whole, args.out)
    except OSError as exc:
        print(f"gbhan: {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _emit_hex(data: bytes, out: Path | None) -> None:
    text = data.hex().upper()
    if out is None:
        print(text)
    else:
        out.write_text(text)
