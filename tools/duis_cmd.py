"""`gbhan duis ...`: check a DUIS XML file (schema and XML signature) as the DSP would, and
show the GBCS (pre-)command a request becomes."""

from __future__ import annotations

import sys
from pathlib import Path

from emulator import data

DEFAULT_SCHEMA = data.duis_schema()
DEFAULT_KEYSTORE = data.dccboxed_keystore()
DEFAULT_ACB = "90-B3-D5-1F-30-00-00-02"  # DCC Boxed's Access Control Broker


def register(sub) -> None:
    duis = sub.add_parser("duis", help="DUIS XML: verify schema and signature")
    cmds = duis.add_subparsers(dest="duis_command", required=True)
    p = cmds.add_parser("verify", help="one line: valid, or invalid: <reason>; exit 0 if valid")
    p.add_argument("file", type=Path, help="a DUIS request, response or alert")
    p.add_argument(
        "--keystore", action="append", type=Path,
        help="XML-signing certificates: DCC Boxed JSON or a folder (default: DCC Boxed's)",
    )  # fmt: skip
    p.add_argument("--cert", action="append", type=Path, default=[], help="a trusted PEM cert")
    p.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="DUIS schema folder")
    p.add_argument(
        "--require-signature", action="store_true",
        help="refuse unsigned error acknowledgements too",
    )  # fmt: skip
    p.set_defaults(func=cmd_verify)

    p = cmds.add_parser(
        "transform", help="print the GBCS pre-command (critical) or command (non-critical) hex"
    )
    p.add_argument("file", type=Path, help="a DUIS request")
    p.add_argument("--use-case", help="the GBCS use case where the devices decide (e.g. CS08)")
    p.add_argument("--acb", default=DEFAULT_ACB, help=f"ACB EUI (default {DEFAULT_ACB})")
    p.add_argument("--acb-counter", type=int, default=1, help="the ACB's counter (default 1)")
    p.add_argument("--partner-type", help="joins: the other device's type (esme, ppmid ...)")
    p.add_argument("--partner-cert", type=Path, help="Method C joins: its certificate (DER/PEM)")
    p.set_defaults(func=cmd_transform)


def _keystore(paths: list[Path]):
    from gbcs.keystore import Keystore

    store = Keystore(check_validity=False)
    for path in paths:
        store.load(path)
        if path.is_dir():
            for item in sorted(path.glob("*.json")):
                if not item.name.endswith(".schema.json"):
                    store.load(item)
    return store


def cmd_verify(args) -> int:
    from emulator.backoffice import document, duis, xmlsig

    try:
        data = args.file.read_bytes()
        trusted = xmlsig.TrustedCertificates.from_keystore(
            _keystore(args.keystore or [DEFAULT_KEYSTORE])
        )
        for cert in args.cert:
            trusted.add_pem_file(cert)
        schema = duis.load_schema(str(args.schema))
    except (OSError, ValueError) as exc:
        print(f"invalid: cannot check: {exc}")
        return 2
    try:
        checked = document.check(
            data, schema, trusted, require_signature=args.require_signature or None
        )
    except document.Refused as exc:
        print(f"invalid: {exc.reason} ({exc.detail})")
        return 1
    # an E-code acknowledgement may come unsigned (DCC Boxed sends them so): valid, and says so
    print("valid" if checked.signed else "valid (no signature: an unsigned error acknowledgement)")
    return 0


def _certificate_der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


def cmd_transform(args) -> int:
    from emulator.backoffice import duis, transform
    from gbcs.asn1 import DEVICE_TYPES

    try:
        request = duis.parse_request(duis.parse(args.file.read_bytes()))
        partner = None
        if args.partner_type is not None:
            codes = {name: code for code, name in DEVICE_TYPES.items()}
            if args.partner_type not in codes:
                raise ValueError(f"--partner-type is one of {', '.join(codes)}")
            cert = _certificate_der(args.partner_cert) if args.partner_cert else None
            partner = transform.JoinPartner(codes[args.partner_type], cert)
        acb = transform.AcbContext(duis.eui_from_text(args.acb), args.acb_counter)
        result = transform.transform(request, use_case=args.use_case, acb=acb, partner=partner)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    signed = result.user_signs or result.acb_signs
    print((result.precommand() if signed else result.unsigned_command()).hex().upper())
    return 0


def main(argv: list[str] | None = None) -> int:
    from .cli import run_group

    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
