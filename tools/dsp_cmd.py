"""`gbhan dsp ...`: run the DCC back office over HTTP as DCC Boxed does (`serve`), and send
a DUIS request through it as the DNO or the Supplier (`submit`)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from emulator import data

from . import catalogue_cmd, day_cmd

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
    p.add_argument("--assets-port", type=int, metavar="PORT",
                   help="also serve /assets/crypto/org-crypto.zip here (DCC Boxed: 80, where "
                   "the DCC keystore build script looks)")  # fmt: skip
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
    p.add_argument(
        "--at", help="the SMKI service's clock: certificate status follows validity at it "
        "(ISO 8601; default the --gbcs-date)",
    )  # fmt: skip
    p.add_argument("--users", type=Path, metavar="TOML",
                   help="register the [[user]] tables of this file (kept in the state)")  # fmt: skip
    p.add_argument("--latency", type=float, default=0.5, help="WAN latency each way, seconds")
    p.add_argument("--han-latency", type=float, default=None, metavar="S",
                   help="air time of each HAN hop, seconds (default the devices' 5 ms; "
                   "a 7.7 takes about four hops)")  # fmt: skip
    p.add_argument("--households", type=int, default=0, metavar="N",
                   help="serve N generated households besides RTDS's (ESME "
                   "00-DB-12-34-56-00-01-A0 ...), each on a HAN of its own")  # fmt: skip
    p.add_argument("--households-in-process", action="store_true",
                   help="run the generated households in the DSP's process (default: a "
                   "process of their own, so their device models use another core)")  # fmt: skip
    p.add_argument("--loss", type=float, default=0.0, help="WAN loss probability each way")
    p.add_argument("--boost-switch", action="store_true",
                   help="SECMP0046 second step: DNO may send 7.9-7.11")  # fmt: skip
    p.add_argument("--web-port", type=int, default=8080, metavar="PORT",
                   help="the web console's port, bound to --host (default 8080; 0 a free "
                   "one; docs/web.md)")  # fmt: skip
    p.add_argument("--no-web", action="store_true", help="do not serve the web console")
    p.add_argument("--start", metavar="DATE",
                   help="the DSP's and the devices' clock starts at this date (ISO 8601; "
                   "default now), or 'resume': where the last paced DSP on --state-dir "
                   "left it")  # fmt: skip
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="their clock runs X times as fast as real time (default 1; 240 runs "
                   "a day in 6 minutes); HTTP timeouts stay in real seconds")  # fmt: skip
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = cmds.add_parser("users", help="users added by configuration (kept in --state-dir)")
    users = p.add_subparsers(dest="users_command", required=True)
    q = users.add_parser("add", help="register a user (or every [[user]] of --from FILE)")
    q.add_argument("--eui", help="the DUIS user ID, e.g. 00-DB-12-34-56-78-00-04")
    q.add_argument(
        "--role", help="IS, ES, GS, RSA, ED, GT or OU; several roles of one user ID as IS,ES,OU"
    )
    q.add_argument("--name", help="a label (default: the EUI)")
    q.add_argument("--endpoint", help="URL its responses and alerts are POSTed to")
    q.add_argument("--xml-cert", action="append", type=Path, default=[],
                   help="XML-signing certificate PEM (default: the DCC Boxed keystore's)")  # fmt: skip
    q.add_argument("--gbcs-cert", action="append", type=Path, default=[],
                   help="GBCS signing certificate PEM (default: the DCC Boxed keystore's)")  # fmt: skip
    q.add_argument("--from", dest="source", type=Path, metavar="TOML", help="a users file")
    q.set_defaults(func=cmd_users_add)
    q = users.add_parser("list", help="the users the DSP serves")
    q.set_defaults(func=cmd_users_list)
    q = users.add_parser(
        "endpoint", help="show or change a user's response endpoint in a running DSP"
    )
    q.add_argument("eui", help="the user, e.g. 00-DB-12-34-56-78-00-04")
    q.add_argument("endpoint", nargs="?", help="the new URL (none: show the current one)")
    q.add_argument("--clear", action="store_true", help="remove the endpoint")
    q.add_argument("--url", default=DEFAULT_URL, help=f"the DSP (default {DEFAULT_URL})")
    q.set_defaults(func=cmd_users_endpoint)
    q = users.add_parser("remove", help="forget a configured user")
    q.add_argument("eui")
    q.set_defaults(func=cmd_users_remove)
    for q in users.choices.values():
        if q.prog.endswith(" endpoint"):
            continue
        q.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                       help=f"default ./{DEFAULT_STATE_DIR}")  # fmt: skip
        q.add_argument("--keystore", type=Path, default=DEFAULT_KEYSTORE, help="DCC Boxed JSON")
        q.add_argument("--gbcs-date", default=DEFAULT_DATE, help=argparse.SUPPRESS)

    p = cmds.add_parser("devices", help="devices added by configuration (kept in --state-dir)")
    devices = p.add_subparsers(dest="devices_command", required=True)
    q = devices.add_parser("add", help="add a device to the inventory (or a --preset set)")
    q.add_argument("eui", nargs="?", help="the device, e.g. 00-DB-12-34-56-78-90-B0")
    q.add_argument("--type", dest="device_type",
                   help="esme, gsme, chf, gpf, hcalcs, ppmid or type_2")  # fmt: skip
    q.add_argument("--premises", default="configured-premises", help="the premises it is in")
    q.add_argument("--preset", help="add a named set: dccboxed (DCC Boxed's own devices) or "
                   "rtds (always served)")  # fmt: skip
    q.set_defaults(func=cmd_devices_add)
    q = devices.add_parser("list", help="the devices the DSP serves")
    q.set_defaults(func=cmd_devices_list)
    q = devices.add_parser("remove", help="forget a device added by configuration")
    q.add_argument("eui")
    q.set_defaults(func=cmd_devices_remove)
    for q in devices.choices.values():
        q.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                       help=f"default ./{DEFAULT_STATE_DIR}")  # fmt: skip
        q.add_argument("--keystore", type=Path, default=DEFAULT_KEYSTORE, help="DCC Boxed JSON")
        q.add_argument("--gbcs-date", default=DEFAULT_DATE, help=argparse.SUPPRESS)

    p = cmds.add_parser("submit", help="run a DUIS request's whole round trip as a user")
    p.add_argument("file", type=Path, help="a DUIS request (e.g. a template)")
    p.add_argument("--as", dest="user", choices=("dno", "supplier"), default="supplier")
    p.add_argument("--url", default=DEFAULT_URL, help=f"the DSP (default {DEFAULT_URL})")
    p.add_argument("--listen", type=int, help="response endpoint port (dno 8091, supplier 8090)")
    p.add_argument("--counter", type=int, help="replace the RequestID counter")
    p.add_argument("--timeout", type=float, default=60.0, help="wait for the device response")
    _common(p)
    p.set_defaults(func=cmd_submit)

    catalogue_cmd.register(cmds)
    day_cmd.register(cmds)


def _common(p) -> None:
    p.add_argument("--keystore", type=Path, default=DEFAULT_KEYSTORE, help="DCC Boxed JSON")
    p.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="DUIS schema folder")
    p.add_argument(
        "--gbcs-date", default=DEFAULT_DATE,
        help=f"judge GBCS certificates at this date (default {DEFAULT_DATE}: DCC Boxed's "
        "organisation certificates expired in January 2026)",
    )  # fmt: skip


def cmd_serve(args) -> int:
    from emulator import web
    from emulator.backoffice import service
    from emulator.backoffice.assembly import make_dsp
    from emulator.backoffice.eligibility import Eligibility
    from emulator.backoffice.inventory import RTDS_PREMISES
    from emulator.backoffice.premises_factory import (
        MAX_GENERATED,
        GeneratedHousehold,
        attach_generated,
        build_generated,
        build_premises,
        build_second_rtds_meter,
        meter_certificate,
    )
    from emulator.backoffice.remote_premises import HostError, PremisesHost
    from emulator.backoffice.state import DspState, StateError
    from emulator.backoffice.userconfig import UserConfigError, load_toml
    from emulator.backoffice.users import DEFAULT_ENDPOINT_PORTS
    from emulator.backoffice.wan import Wan
    from emulator.clock import Clock
    from emulator.smki import SmkiError, SmkiService
    from emulator.smki.bundles import org_crypto_zip

    defaults = {n: f"http://127.0.0.1:{p}/" for n, p in DEFAULT_ENDPOINT_PORTS.items()}
    endpoints: dict[str, str] = {}
    for item in args.endpoint:
        name, _, url = item.partition("=")
        if name not in defaults or not url:
            print(f"error: --endpoint is supplier=URL or dno=URL, not {item!r}")
            return 2
        endpoints[name] = url
    if not 0 <= args.households <= MAX_GENERATED:
        print(f"error: --households is 0..{MAX_GENERATED}", file=sys.stderr)
        return 2
    if args.han_latency is not None and args.han_latency < 0:
        print("error: --han-latency is seconds, >= 0", file=sys.stderr)
        return 2
    han = {} if args.han_latency is None else {"han_latency_s": args.han_latency}
    if not 0 < args.speed < float("inf"):
        print("error: --speed is a number above 0 (1: real time)", file=sys.stderr)
        return 2
    try:
        gbcs_date = _date(args.gbcs_date)
        smki_at = _date(args.at) if args.at else gbcs_date
        start = _date(args.start) if args.start and args.start != "resume" else None
    except ValueError as exc:
        print(f"error: --gbcs-date / --at / --start: {exc}", file=sys.stderr)
        return 2
    try:
        state = DspState.open(args.state_dir, [DEFAULT_RTDS_KEYSTORE, args.keystore], gbcs_date)
        if args.users is not None:
            for user in load_toml(args.users):
                state.add_user(user)
    except (StateError, SmkiError, UserConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.start == "resume":  # carry on from where the last DSP on this state left its clock
        start = state.saved_clock()
        if start is None:
            print(f"error: --start resume: no DSP clock saved in {args.state_dir} (start it "
                  "once with --start DATE)", file=sys.stderr)  # fmt: skip
            state.close()
            return 2
    # a paced clock starts up in real time, so that it reads about --start when it serves,
    # then runs at --speed
    clock = Clock("wall", start, paced=start is not None or args.speed != 1.0)

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
            clock, boost_switch=args.boost_switch, identities=state.identities, **han
        )
        dsp.attach(premises)
        # RTDS's second ESME (an APC on every slot), on its own hub: 8.2 lists it
        second = await build_second_rtds_meter(clock, identities=state.identities, **han)
        dsp.attach(second)
        numbers = range(1, args.households + 1)
        host, generated = None, []
        if args.households_in_process:
            generated = await build_generated(
                clock, numbers, state.identities, boost_switch=args.boost_switch, **han
            )
            attach_generated(dsp, generated)
        elif args.households:
            certificates = [meter_certificate(GeneratedHousehold(n), state.identities)
                            for n in numbers]  # fmt: skip
            host = await PremisesHost.start(
                args.state_dir, numbers, gbcs_date=args.gbcs_date,
                han_latency_s=args.han_latency, boost_switch=args.boost_switch, clock=clock,
            )  # fmt: skip
            attach_generated(dsp, [(GeneratedHousehold(n), host.households[n], c)
                                   for n, c in zip(numbers, certificates, strict=True)])  # fmt: skip
        if clock.paced:  # the premises are up: the DSP serves at its speed (HTTP
            # timeouts, taken from here on, in real seconds)

            def pace(speed: float) -> None:
                clock.pace(speed)
                if host is not None:
                    host.pace(clock)

            pace(args.speed)
            dsp.pace = pace  # PUT /gbhan/v1/clock
            saving = asyncio.get_running_loop().create_task(_keep_clock(clock, state))
        resumed = dsp.resume()
        bundle = org_crypto_zip(args.keystore)
        smki = SmkiService(state.repo, args.host, args.smki_port, clock=lambda: smki_at,
                           org_crypto=bundle).start()  # fmt: skip
        assets = None
        if args.assets_port is not None:
            assets = SmkiService(state.repo, args.host, args.assets_port,
                                 clock=lambda: smki_at, org_crypto=bundle).start()  # fmt: skip
        configured = lambda: {u.eui for u in state.users()}  # noqa: E731
        app = service.make_app(dsp, persist=state.set_endpoint, configured=configured)
        console = console_runner = None
        if not args.no_web:
            live = {RTDS_PREMISES: premises}
            live |= {household.name: other for household, other, _c in generated}
            console = web.make_console(
                dsp, live=live, duis_url="", smki_url=smki.url,
                rtds_keystore=DEFAULT_RTDS_KEYSTORE, dccboxed_keystore=args.keystore,
                gbcs_date=gbcs_date, persist=state.set_endpoint, configured=configured,
            )  # fmt: skip
            console.observe(app)
            if dsp.pace is not None:  # a change of pace is shown on the console's pages too
                pace_only, showing = dsp.pace, console

                def pace_and_show(speed: float) -> None:
                    pace_only(speed)
                    showing.clock_changed()

                dsp.pace = pace_and_show
        runner = await web.start_site(app, args.host, args.port)
        duis_port = service.bound_port(runner)
        if console is not None:
            local = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
            console.set_duis_url(f"http://{local}:{duis_port}")
            try:
                console_runner = await console.start(args.host, args.web_port)
            except OSError as exc:  # the DSP serves on without its console
                print(f"warning: web console not started on port {args.web_port}: {exc} "
                      "(choose one with --web-port, or --no-web)", file=sys.stderr, flush=True)  # fmt: skip
        where = {u.name: u.endpoint for u in dsp.users}
        print(f"DSP on http://{args.host}:{duis_port}/api/v1/serviceS|T|D; "
              f"SMKI on {smki.url}/services/; state {args.state_dir}; "
              f"clock {clock.utc_now():%Y-%m-%dT%H:%M:%SZ} at {clock.speed:g}x"
              f"{f' ({resumed} unfinished requests resumed)' if resumed else ''}; "
              f"responses to {where}", flush=True)  # fmt: skip
        if console_runner is not None:
            print(f"web console on http://{args.host}:{service.bound_port(console_runner)}/",
                  flush=True)  # fmt: skip
        try:
            await asyncio.Event().wait()
        finally:
            if clock.paced:
                saving.cancel()
                state.save_clock(clock.utc_now())
            if console is not None:
                await console.stop()
            await runner.cleanup()
            smki.stop()
            if assets is not None:
                assets.stop()
            await premises.close()
            await second.close()
            for _household, other, _certificate in generated:
                await other.close()
            if host is not None:
                await host.close()

    try:
        clock.run(main)
    except KeyboardInterrupt:
        return 0
    except (OSError, HostError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        state.close()
    return 0


#: how often (real seconds) a paced DSP saves its clock for `--start resume`
CLOCK_SAVE_S = 1.0


async def _keep_clock(clock, state) -> None:
    """Save the DSP's clock every CLOCK_SAVE_S real seconds: a restart after a SIGKILL
    resumes at most that much (times the speed) behind."""
    from emulator.clock import loop_seconds

    while True:
        state.save_clock(clock.utc_now())
        await asyncio.sleep(loop_seconds(CLOCK_SAVE_S))


def _state(args):
    from emulator.backoffice.state import DspState

    return DspState.open(args.state_dir, [DEFAULT_RTDS_KEYSTORE, args.keystore],
                         _date(args.gbcs_date))  # fmt: skip


def cmd_users_add(args) -> int:
    from emulator.backoffice.userconfig import (
        UserConfig,
        UserConfigError,
        load_toml,
        parse_eui,
        parse_roles,
        pem_blocks,
    )

    try:
        if args.source is not None:
            if args.eui or args.role:
                raise UserConfigError("give --from FILE or --eui and --role, not both")
            users = load_toml(args.source)
        else:
            if not args.eui or not args.role:
                raise UserConfigError("--eui and --role are required (or --from FILE)")
            eui = parse_eui(args.eui, "--eui")
            role, *also = parse_roles(args.role, "--role")
            users = [
                UserConfig(
                    eui, role, args.name or eui.hex().upper(),
                    args.endpoint,
                    tuple(b for p in args.xml_cert for b in pem_blocks(p, "--xml-cert")),
                    tuple(b for p in args.gbcs_cert for b in pem_blocks(p, "--gbcs-cert")),
                    tuple(also),
                )
            ]  # fmt: skip
    except UserConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = _state(args)
    try:
        for user in users:
            new = state.add_user(user)
            roles = ",".join(r.value for r in user.roles)
            print(f"{'added' if new else 'updated'} {_dashed(user.eui)} {roles} {user.name}")
    finally:
        state.close()
    return 0


def cmd_users_list(args) -> int:
    from emulator.backoffice.registry import DCC_BOXED_USERS

    state = _state(args)
    try:
        configured = {u.eui: u for u in state.users()}
        endpoints = state.endpoints()
    finally:
        state.close()
    rows = [(eui, ",".join(r.value for r in roles), name, "preset")
            for eui, roles, name in DCC_BOXED_USERS if eui not in configured]  # fmt: skip
    rows += [(u.eui, ",".join(r.value for r in u.roles), u.name, "configured")
             for u in configured.values()]  # fmt: skip
    for eui, role, name, how in rows:
        print(f"{_dashed(eui)}  {role:3}  {name:12}  {how:10}  {endpoints.get(eui, '-')}")
    return 0


def cmd_users_remove(args) -> int:
    from emulator.backoffice.userconfig import UserConfigError, parse_eui

    try:
        eui = parse_eui(args.eui)
    except UserConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = _state(args)
    try:
        gone = state.remove_user(eui)
    finally:
        state.close()
    print(f"removed {_dashed(eui)}" if gone else f"no configured user {_dashed(eui)}")
    return 0 if gone else 1


def cmd_users_endpoint(args) -> int:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    if args.clear and args.endpoint:
        print("error: give a URL or --clear, not both", file=sys.stderr)
        return 2
    where = f"{args.url.rstrip('/')}/gbhan/v1/users/{urllib.parse.quote(args.eui)}/endpoint"
    request = urllib.request.Request(where, method="GET")
    if args.endpoint or args.clear:
        body = json.dumps({"endpoint": None if args.clear else args.endpoint}).encode()
        request = urllib.request.Request(
            where, data=body, method="PUT", headers={"Content-Type": "application/json"}
        )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        print(f"error: {message}", file=sys.stderr)
        return 2 if exc.code == 400 else 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"error: {args.url}: {exc}", file=sys.stderr)
        return 1
    print(f"{answer['eui']}  {answer['endpoint'] or '-'}")
    return 0


def cmd_devices_add(args) -> int:
    from emulator.backoffice.inventory import (
        DEVICE_TYPE_CODES,
        RTDS_DEVICES,
        Device,
        InventoryError,
        preset_devices,
    )
    from emulator.backoffice.userconfig import UserConfigError, parse_eui

    try:
        if args.preset:
            if args.eui or args.device_type:
                raise InventoryError("give --preset or an EUI and --type, not both")
            devices = preset_devices(args.preset)
            source = f"preset:{args.preset}"
        else:
            if not args.eui or not args.device_type:
                raise InventoryError("an EUI and --type are required (or --preset)")
            if args.device_type not in DEVICE_TYPE_CODES:
                raise InventoryError(f"--type is one of {', '.join(DEVICE_TYPE_CODES)}")
            devices = [Device(parse_eui(args.eui, "EUI"), args.device_type, args.premises)]
            source = "configured"
    except (InventoryError, UserConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rtds = {bytes.fromhex(e) for e in RTDS_DEVICES}
    state = _state(args)
    try:
        for device in devices:
            if device.eui in rtds and source != "preset:rtds":
                print(f"error: {_dashed(device.eui)} is an RTDS device (always served)",
                      file=sys.stderr)  # fmt: skip
                return 2
            if device.eui in rtds:
                print(f"served {_dashed(device.eui)} {device.device_type} (RTDS, always)")
                continue
            new = state.add_device(device, source)
            print(f"{'added' if new else 'updated'} {_dashed(device.eui)} "
                  f"{device.device_type} {device.premises}")  # fmt: skip
    finally:
        state.close()
    return 0


def cmd_devices_list(args) -> int:
    from emulator.backoffice.inventory import RTDS_DEVICES, RTDS_PREMISES

    state = _state(args)
    try:
        stored = state.devices()
    finally:
        state.close()
    rows = [
        (bytes.fromhex(e), kind, RTDS_PREMISES, "preset:rtds") for e, kind in RTDS_DEVICES.items()
    ]
    rows += [(d.eui, d.device_type, d.premises, source) for d, source in stored]
    for eui, kind, premises, source in rows:
        print(f"{_dashed(eui)}  {kind:7}  {premises:20}  {source}")
    return 0


def cmd_devices_remove(args) -> int:
    from emulator.backoffice.userconfig import UserConfigError, parse_eui

    try:
        eui = parse_eui(args.eui, "EUI")
    except UserConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = _state(args)
    try:
        gone = state.remove_device(eui)
    finally:
        state.close()
    print(f"removed {_dashed(eui)}" if gone else f"no added device {_dashed(eui)}")
    return 0 if gone else 1


def _dashed(eui: bytes) -> str:
    return eui.hex("-").upper()


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
