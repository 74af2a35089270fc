"""`gbhan dsp ...`: run the DCC back office over HTTP as DCC Boxed does (`serve`), and send
a DUIS request through it as the DNO or the Supplier (`submit`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

from emulator import data

DEFAULT_SCHEMA = data.duis_schema()
DEFAULT_KEYSTORE = data.dccboxed_keystore()
DEFAULT_RTDS = data.rtds()
DEFAULT_RTDS_KEYSTORE = data.rtds_keystore()
DEFAULT_URL = "http://127.0.0.1:8079"
DEFAULT_DATE = "2025-06-01"
DEFAULT_STATE_DIR = Path("gbhan-dsp-state")


def _date(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def register(sub) -> None:
    dsp = sub.add_parser("dsp", help="the DCC/DSP back office over HTTP (DCC Boxed interface)")
    cmds = dsp.add_subparsers(dest="dsp_command", required=True)
    p = cmds.add_parser(
        "serve", help="serve /api/v1/serviceS|T|D and the SMKI service with an emulated premises"
    )
    p.add_argument("--host", default="127.0.0.1", help="address both services bind")
    p.add_argument("--port", type=int, default=8079, help="DUIS port (default 8079, as DCC Boxed)")
    p.add_argument("--smki-port", type=int, default=8083,
                   help="SMKI service port (default 8083, as DCC Boxed)")  # fmt: skip
    p.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE_DIR,
        help=f"users' endpoints, device keys and certificates, counters and the request "
        f"journal; a restart on it carries on (default ./{DEFAULT_STATE_DIR})",
    )  # fmt: skip
    p.add_argument(
        "--endpoint", action="append", default=[], metavar="USER=URL",
        help="where a user's responses go (supplier / dno); "
        "default http://127.0.0.1:8090/ and :8091/",
    )  # fmt: skip
    p.add_argument("--latency", type=float, default=0.5, help="WAN latency each way, seconds")
    p.add_argument("--loss", type=float, default=0.0, help="WAN loss probability each way")
    p.add_argument("--boost-switch", action="store_true",
                   help="SECMP0046 second step: DNO may send 7.9-7.11")  # fmt: skip
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = cmds.add_parser("submit", help="run a DUIS request's whole round trip as a user")
    p.add_argument("file", type=Path, help="a DUIS request (e.g. a template)")
    p.add_argument("--as", dest="user", choices=("dno", "supplier"), default="supplier")
    p.add_argument("--url", default=DEFAULT_URL, help=f"the DSP (default {DEFAULT_URL})")
    p.add_argument("--listen", type=int, help="response endpoint port (dno 8091, supplier 8090)")
    p.add_argument("--counter", type=int, help="replace the RequestID counter")
    p.add_argument("--timeout", type=float, default=60.0, help="wait for the device response")
    _common(p)
    p.set_defaults(func=cmd_submit)


def _common(p) -> None:
    p.add_argument("--keystore", type=Path, default=DEFAULT_KEYSTORE, help="DCC Boxed JSON")
    p.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="DUIS schema folder")
    p.add_argument(
        "--gbcs-date", default=DEFAULT_DATE,
        help=f"judge GBCS certificates at this date (default {DEFAULT_DATE}: DCC Boxed's "
        "organisation certificates expired in January 2026)",
    )  # fmt: skip


def cmd_serve(args) -> int:
    from emulator.backoffice import service
    from emulator.backoffice.assembly import make_dsp
    from emulator.backoffice.eligibility import Eligibility
    from emulator.backoffice.premises_factory import build_premises
    from emulator.backoffice.state import DspState, StateError
    from emulator.backoffice.users import DEFAULT_ENDPOINT_PORTS
    from emulator.backoffice.wan import Wan
    from emulator.clock import Clock
    from emulator.smki import SmkiError, SmkiService

    defaults = {n: f"http://127.0.0.1:{p}/" for n, p in DEFAULT_ENDPOINT_PORTS.items()}
    endpoints: dict[str, str] = {}
    for item in args.endpoint:
        name, _, url = item.partition("=")
        if name not in defaults or not url:
            print(f"error: --endpoint is supplier=URL or dno=URL, not {item!r}")
            return 2
        endpoints[name] = url
    gbcs_date = _date(args.gbcs_date)
    try:
        state = DspState.open(args.state_dir, [DEFAULT_RTDS_KEYSTORE, args.keystore], gbcs_date)
    except (StateError, SmkiError, OSError) as exc:
        print(f"error: state directory {args.state_dir}: {exc}", file=sys.stderr)
        return 1
    clock = Clock("wall")

    async def main() -> None:
        dsp = make_dsp(
            schema_dir=args.schema, dccboxed=args.keystore, rtds=DEFAULT_RTDS,
            rtds_keystore=DEFAULT_RTDS_KEYSTORE, clock=clock, gbcs_date=gbcs_date,
            endpoints=endpoints, wan=Wan(clock, latency_s=args.latency, loss=args.loss),
            eligibility=Eligibility(secmp0046_boost=args.boost_switch),
            delivery=service.HttpDelivery(), state=state,
        )  # fmt: skip
        for user in dsp.users:
            user.endpoint = user.endpoint or defaults.get(user.name)
        premises = await build_premises(
            clock, boost_switch=args.boost_switch, identities=state.identities
        )
        dsp.attach(premises)
        resumed = dsp.resume()
        smki = SmkiService(state.repo, args.host, args.smki_port).start()
        runner = await service.start(dsp, args.host, args.port)
        where = {u.name: u.endpoint for u in dsp.users}
        print(f"DSP on http://{args.host}:{service.bound_port(runner)}/api/v1/serviceS|T|D; "
              f"SMKI on {smki.url}/services/; state {args.state_dir}"
              f"{f' ({resumed} unfinished requests resumed)' if resumed else ''}; "
              f"responses to {where}", flush=True)  # fmt: skip
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            smki.stop()
            await premises.close()

    try:
        clock.run(main)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        state.close()
    return 0


def _pretty(xml: bytes) -> str:
    from lxml import etree

    return etree.tostring(etree.fromstring(xml), pretty_print=True).decode()


def cmd_submit(args) -> int:
    from emulator.backoffice import duis, xmlsig
    from emulator.backoffice.users import (
        DEFAULT_ENDPOINT_PORTS,
        Endpoint,
        HttpTransport,
        RoundTripFailed,
        make_user,
    )
    from gbcs.keystore import Keystore

    async def main() -> int:
        keys = Keystore.open(args.keystore, clock=_date(args.gbcs_date))
        trusted = xmlsig.TrustedCertificates.from_keystore(keys)
        schema = duis.load_schema(str(args.schema))
        transport = HttpTransport(args.url)
        user = make_user(args.user, keys, schema, trusted, transport)
        endpoint = Endpoint(user)
        port = args.listen if args.listen is not None else DEFAULT_ENDPOINT_PORTS[args.user]
        await endpoint.start("127.0.0.1", port)
        try:
            body = user.prepare(args.file.read_bytes(), args.counter)
            answers = await user.run(body, args.timeout)
        finally:
            await transport.close()
            await endpoint.stop()
        for answer in answers:
            print(f"== {answer.source}: {answer.code} ({answer.kind})")
            print(_pretty(answer.xml))
        return 0 if answers and answers[-1].code == "I0" else 1

    try:
        return asyncio.run(main())
    except (OSError, ValueError, RoundTripFailed, TimeoutError) as exc:
        print(f"error: {type(exc).__name__}: {exc}")
        return 1


def main(argv: list[str] | None = None) -> int:
    from .cli import run_group

    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
