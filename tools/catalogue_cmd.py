"""`gbhan dsp catalogue`: every template of the DCC's DUIS catalogue through a DSP as the role
it is written for (emulator/backoffice/catalogue.py), with a table, JSON, or the SRV status
list for docs/backoffice.md; each shows what the device's own response said of the command
(the `device` column), since I0 only says that the device answered. `dsp_cmd.register` adds
it under `gbhan dsp`."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path


def register(cmds) -> None:
    p = cmds.add_parser(
        "catalogue",
        help="run every DUIS catalogue template against a DSP (in-process unless --url) and "
        "tabulate SRV, outcome, codes, device signature/MAC verified, what the device's "
        "response says (success, error:NAME, partial:NAME, not_found), latency",
    )
    p.add_argument("--url", help="a running DSP (its users' endpoints must reach this "
                   "machine's ports 8090 supplier, 8091 dno, 8092 gas-supplier, 8093 "
                   "load-controller)")  # fmt: skip
    p.add_argument("--smki-url", help="the SMKI service device certificates come from "
                   "(with --url; default the --url host on port 8083)")  # fmt: skip
    p.add_argument("--catalogue", type=Path, help="a folder of *.XML templates "
                   "(default the DCC catalogue in gbhan's data)")  # fmt: skip
    p.add_argument("--only", action="append", default=[], metavar="TEXT",
                   help="only templates whose file name contains TEXT (repeatable)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait per template")
    p.add_argument("--json", action="store_true", help="the results and summary as JSON")
    p.add_argument("--markdown", type=Path, metavar="DOC",
                   help="write the SRV status list into DOC between its catalogue-status "
                   "markers (docs/backoffice.md)")  # fmt: skip
    signer = p.add_mutually_exclusive_group()
    signer.add_argument("--signer", metavar="CMD",
                        help="sign every request with CMD instead of gbhan's XML signer and "
                        "send it as the DCC's Node-RED node does: CMD reads one DUIS request "
                        "on stdin and writes it signed on stdout (GBHAN_SIGN_KEEP_COUNTER=1 "
                        "when it must keep the RequestID's counter; GBHAN_SIGN_CERT and "
                        "GBHAN_SIGN_KEY name the PEM files of a user whose key it does not "
                        "hold)")  # fmt: skip
    signer.add_argument("--signer-stream", metavar="CMD",
                        help="as --signer, but CMD is started once and takes framed "
                        "documents (sign, sign-keep, validate: tests/backoffice/dcc/"
                        "DuisSignStream.java over the DCC's jar), and validates every DSP "
                        "answer as the node does")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_catalogue)


def _smki_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:8083"


def cmd_catalogue(args) -> int:
    import shlex

    from emulator.backoffice import catalogue, nodered
    from emulator.clock import Clock

    try:
        templates = catalogue.load_catalogue(args.catalogue)
    except catalogue.CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        templates = [t for t in templates if any(s in t.name for s in args.only)]

    def progress(done: int, total: int, result) -> None:
        if not args.quiet:
            print(f"\r[{done}/{total}] {result.srv:8} {result.outcome:8} {result.file[:60]:60}",
                  end="" if done < total else "\n", file=sys.stderr, flush=True)  # fmt: skip

    # the DSP's and devices' warnings (no route to a device it does not model ...) are what
    # the table's codes say already
    logging.basicConfig(level=logging.ERROR)
    clock = Clock("wall")
    signer = None
    if args.signer or args.signer_stream:
        make = nodered.CommandSigner if args.signer else nodered.StreamSigner
        signer = make(shlex.split(args.signer or args.signer_stream))
    try:
        with tempfile.TemporaryDirectory(prefix="gbhan-catalogue-") as state_dir:
            where = dict(
                url=args.url, smki_url=args.smki_url or (_smki_url(args.url) if args.url else None),
                state_dir=Path(state_dir), clock=clock, timeout_s=args.timeout, progress=progress,
            )  # fmt: skip
            if signer is None:
                results = clock.run(lambda: catalogue.run_catalogue(templates, **where))
            else:
                results = clock.run(
                    lambda: nodered.run_catalogue_signed(templates, signer, **where)
                )
    except (OSError, catalogue.CatalogueError, nodered.SignerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.markdown is not None:
        try:
            catalogue.write_status(args.markdown, results)
        except (OSError, catalogue.CatalogueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({"results": [r.as_dict() for r in results],
                          "summary": catalogue.summary(results)}, indent=1))  # fmt: skip
    else:
        print(catalogue.table(results))
    unverified = any(r.verified is False for r in results)
    return 1 if unverified or any(r.outcome == catalogue.ERROR for r in results) else 0
