"""`gbhan gbcs ...`: decode, encode, sign, verify and the conformance sweep, for people
checking the GBCS messages their devices and systems produce.
"""

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from gbcs import check as sweep
from gbcs import render
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore, as_eui
from gbcs.message import decode
from gbcs.roles import Role
from gbcs.security import check_message, sign


def register(sub) -> None:
    gbcs = sub.add_parser("gbcs", help="GBCS codec: decode, encode, sign, verify, check")
    cmds = gbcs.add_subparsers(dest="gbcs_command", required=True)

    p = cmds.add_parser("decode", help="show every layer of a message")
    p.add_argument("source", help="a file of hex (or raw bytes) or a hex string")
    p.add_argument("--keystore", action="append", type=Path, help="PEM folder or JSON keystore")
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument("--json", action="store_true", help="JSON instead of the text tree")
    p.set_defaults(func=cmd_decode)

    p = cmds.add_parser("sign", help="sign a pre-command with a DS private key")
    p.add_argument("precommand", help="pre-command file (hex) or hex string")
    p.add_argument("--key", required=True, type=Path, help="PKCS#8 PEM private key")
    p.add_argument("--out", type=Path, help="write the signed APDU as hex here")
    p.set_defaults(func=cmd_sign)

    p = cmds.add_parser("verify", help="check signature, MAC and encrypted parts")
    p.add_argument("source")
    p.add_argument("--keystore", action="append", type=Path, required=True)
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.set_defaults(func=cmd_verify)

    p = cmds.add_parser(
        "check",
        help="strict conformance check over every *.HEX below DIR",
        description="Fails every message whose form or authenticity cannot be proved; each "
        "failure names its rule and byte offset. Exit 0: every message passed; 1: some failed.",
    )
    p.add_argument("directory", type=Path)
    p.add_argument("--keystore", action="append", type=Path)
    p.add_argument("--at", type=_when, help="certificate validity clock (ISO 8601)")
    p.add_argument(
        "--allow-unverifiable",
        action="store_true",
        help="pass a signature, MAC or encrypted part no key is held for (listed, not failed)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    p.set_defaults(func=cmd_check)
    for name in ("decode", "verify", "check"):
        cmds.choices[name].add_argument(
            "--acb",
            action="append",
            type=_eui,
            metavar="EUI",
            help="the Access Control Broker's EUI (default: the keystore's role-04 certificate)",
        )


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _eui(text: str) -> bytes:
    try:
        return as_eui(text)
    except GbcsError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def read_source(source: str) -> bytes:
    """A path to a hex (or binary) file, or the hex itself."""
    path = Path(source)
    if path.is_file():
        raw = path.read_bytes()
        text = "".join(raw.decode("ascii", errors="replace").split())
        try:
            return bytes.fromhex(text)
        except ValueError:
            return raw
    try:
        return bytes.fromhex("".join(source.split()))
    except ValueError:
        raise SystemExit(f"gbhan: {source!r} is neither a file nor hexadecimal") from None


def load_keystore(paths, at, acbs=None) -> Keystore | None:
    if not paths:
        return None
    try:
        # without --at, validity dates are not judged (stored vectors outlive their certificates)
        keystore = Keystore.open(*paths, clock=at, check_validity=at is not None)
    except GbcsError as exc:
        raise SystemExit(f"gbhan: keystore: {exc}") from None
    for eui in acbs or ():
        keystore.add_anchor(Role.ACCESS_CONTROL_BROKER, eui)
    return keystore


def cmd_decode(args) -> int:
    data = read_source(args.source)
    try:
        message = decode(data)
    except GbcsError as exc:
        print(f"decode failed: {exc}", file=sys.stderr)
        return 1
    keystore = load_keystore(args.keystore, args.at, args.acb)
    report = check_message(message, keystore) if keystore is not None else None
    if args.json:
        print(render.message_json(message, report))
    else:
        print(render.message_text(message, report))
    return 1 if report is not None and report.failed else 0


def cmd_sign(args) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

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
    try:
        message = decode(read_source(args.source))
    except GbcsError as exc:
        print(f"decode failed: {exc}", file=sys.stderr)
        return 1
    keystore = load_keystore(args.keystore, args.at, args.acb)
    assert keystore is not None  # argparse requires --keystore for verify
    report = check_message(message, keystore)
    for result in report.checks:
        key = f" [{result.key}]" if result.key else ""
        print(f"{result}{key}")
    print(f"outcome: {report.outcome}")
    return 1 if report.failed else 0


def cmd_check(args) -> int:
    root = args.directory
    if not root.exists():
        print(f"gbhan: {root} does not exist", file=sys.stderr)
        return 2
    keystore = load_keystore(args.keystore, args.at, args.acb)
    paths = sweep.find_message_files(root)
    if not args.json:
        clock = "certificate validity not checked (give --at to pin a clock)"
        if args.at is not None:
            clock = f"certificate validity checked at {args.at.isoformat()}"
        print(f"checking {len(paths)} files below {root}; {clock}", file=sys.stderr)

    def progress(index: int, result: sweep.FileResult) -> None:
        if not args.json:
            for verdict in result.verdicts:
                print(f"{result.name}: {verdict}", flush=True)
            for verdict in result.allowed:
                print(f"{result.name}: allowed: {verdict}", flush=True)
            if sys.stderr.isatty() and (index + 1) % 50 == 0:
                print(f"  {index + 1}/{len(paths)}", end="\r", file=sys.stderr, flush=True)

    results, totals = sweep.check_files(
        paths, keystore, root, progress, allow_unverifiable=args.allow_unverifiable
    )
    if args.json:
        print(
            json.dumps(
                {
                    "totals": totals.as_dict(),
                    "failures": {r.name: r.failures for r in results if r.failed},
                },
                indent=2,
            )
        )
    else:
        print(totals.line())
    return 0 if totals.failed == 0 else 1


def _emit_hex(data: bytes, out: Path | None) -> None:
    text = data.hex().upper()
    if out is None:
        print(text)
    else:
        out.write_text(text)
