"""`gbhan hil run` (the switch conformance suite on a DUT) and `gbhan flash` (deploy firmware).

`gbhan hil run --dut virtual|URL [--role hcalcs|plcs] [--power ...] [--junit FILE]
[--html FILE]` runs pytest on hil/suites/switch with the hil plugin in a child process and
writes JUnit XML (for CI) and an HTML report. Exit status is pytest's, or 2 when a physical
board's wiring is incomplete (said before pytest starts). The rig file (`--rig`, $GBHAN_RIG or
`.gbhan-rig.toml` here) is looked up in the caller's working directory.

`gbhan flash --port PORT --board rp2|esp32|xbee3 --role hcalcs|plcs [--dry-run]` stages the
mpy-cross build and the role config, then deploys them with mpremote: in safe boot, over a
removed old tree, every file read back and compared by SHA-256 (hil/flash.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("gbhan-out") / "hil"


def suite_dir() -> Path:
    import hil.suites.switch

    return Path(list(hil.suites.switch.__path__)[0])


def _plugin_auto_loaded() -> bool:
    """True once the pytest11 entry point is installed (then `-p` would register it twice)."""
    return any(ep.value == "hil.plugin" for ep in metadata.entry_points(group="pytest11"))


def suite_command(
    dut: str,
    role: str,
    junit: Path,
    html: Path,
    *,
    power: str | None = None,
    dut_console: str | None = None,
    rig: Path | None = None,
    firmware: Path | None = None,
    json_path: Path | None = None,
    keyword: str | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    argv = [sys.executable, "-m", "pytest"]
    if not _plugin_auto_loaded():
        argv += ["-p", "hil.plugin"]
    argv += [
        str(suite_dir()),
        "--dut", dut,
        "--role", role,
        "--junitxml", str(junit),
        "-o", "junit_family=xunit1",  # keeps the recorded measurements as <property>s
        "-o", f"junit_suite_name=gbhan-hil-switch-{role}",
        "--hil-html", str(html),
        "-p", "no:cacheprovider",
        "-q",
    ]  # fmt: skip
    if power:
        argv += ["--power", power]
    if dut_console:
        argv += ["--dut-console", dut_console]
    if rig:
        argv += ["--rig", str(rig)]
    if firmware:
        argv += ["--dut-firmware", str(firmware)]
    if json_path:
        argv += ["--hil-json", str(json_path)]
    if keyword:
        argv += ["-k", keyword]
    return argv + list(extra or [])


def run_suite(
    dut: str = "virtual",
    role: str = "hcalcs",
    junit: Path | None = None,
    html: Path | None = None,
    **kw,
) -> int:
    """Run the suite in a child pytest; returns its exit status (0 = conformant)."""
    # The child runs in the checkout: paths given here are the caller's.
    junit = Path(junit or DEFAULT_OUT / f"switch-{role}.xml").resolve()
    html = Path(html or DEFAULT_OUT / f"switch-{role}.html").resolve()
    for key in ("json_path", "firmware"):
        if kw.get(key):
            kw[key] = Path(kw[key]).resolve()
    if dut != "virtual":
        try:
            kw["rig"] = check_wiring(dut, kw.get("dut_console"), kw.get("rig"))
        except RuntimeError as exc:
            print(f"error: {exc}")
            return 2
    for path in (junit, html):
        path.parent.mkdir(parents=True, exist_ok=True)
    argv = suite_command(dut, role, junit, html, **kw)
    env = dict(os.environ)
    # The suite imports hil, emulator and tools: make the checkout importable from anywhere.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    done = subprocess.run(argv, env=env, cwd=REPO)
    print(f"junit: {junit}\nhtml: {html}")
    return done.returncode


def check_wiring(dut: str, console: str | None, rig: Path | None) -> Path | None:
    """Find the rig file here and check that the physical DUT's two ports are known, so a
    missing console is one clear message, not an error in every test; returns the rig file."""
    from hil import rigfile

    console = console or os.environ.get("GBHAN_DUT_CONSOLE")
    path = rigfile.locate(str(rig) if rig else os.environ.get("GBHAN_RIG"), Path.cwd())
    rigfile.wire(dut, console, path, Path.cwd())
    return path


def cmd_run(args) -> int:
    return run_suite(
        args.dut,
        args.role,
        args.junit,
        args.html,
        power=args.power,
        dut_console=args.dut_console,
        rig=args.rig,
        firmware=args.firmware,
        json_path=args.json,
        keyword=args.keyword,
    )


def cmd_flash(args) -> int:
    from hil import flash

    stage = Path(args.stage or DEFAULT_OUT.parent / "flash" / f"{args.board}-{args.role}")
    try:
        flash_plan = flash.plan(
            args.port, args.board, args.role, stage, esme=args.esme, label=args.label,
            resume=args.resume, reset=not args.no_reset, compat=args.mpy_compat,
        )  # fmt: skip
    except flash.FlashError as exc:
        print(f"error: {exc}")
        return 2
    if args.dry_run:
        print(flash.describe(flash_plan))
        return 0
    try:
        flash.deploy(flash_plan)
    except (flash.FlashError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}")
        return 1
    return 0


def register(subparsers) -> None:
    hil = subparsers.add_parser("hil", help="hardware-in-the-loop: run the switch suite on a DUT")
    sub = hil.add_subparsers(dest="hil_command", required=True)
    run = sub.add_parser("run", help="run the switch conformance suite, write JUnit + HTML")
    run.add_argument(
        "--dut",
        default="virtual",
        help="virtual, /dev/ttyACM0, serial:///dev/ttyACM0?baud=N, socket://h:p",
    )
    run.add_argument(
        "--dut-console",
        help="a physical DUT's console port (default: $GBHAN_DUT_CONSOLE, "
        "console= on --dut, or the rig file)",
    )
    run.add_argument(
        "--rig",
        type=Path,
        help="rig file naming the bench's ports (default: $GBHAN_RIG, or "
        ".gbhan-rig.toml in the working directory)",
    )
    run.add_argument("--power", help="virtual | manual | usb-relay:///dev/ttyUSB1[?on=HEX&off=HEX]")
    run.add_argument("--role", choices=("hcalcs", "plcs"), default="hcalcs")
    run.add_argument(
        "--junit", type=Path, help=f"JUnit XML (default {DEFAULT_OUT}/switch-ROLE.xml)"
    )
    run.add_argument(
        "--html", type=Path, help=f"HTML report (default {DEFAULT_OUT}/switch-ROLE.html)"
    )
    run.add_argument("--json", type=Path, help="also write the results document as JSON")
    run.add_argument(
        "--firmware", type=Path, help="virtual DUT: folder holding the firmware/ tree to test"
    )
    run.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    run.set_defaults(func=cmd_run)

    fl = subparsers.add_parser("flash", help="deploy the switch firmware to a board (mpremote)")
    fl.add_argument("--port", required=True, help="the board's REPL port (or a pyserial URL)")
    fl.add_argument("--board", choices=("rp2", "esp32", "xbee3"), required=True)
    fl.add_argument("--role", choices=("hcalcs", "plcs"), required=True)
    fl.add_argument("--esme", help="EUI-64 of the meter to commission (hex)")
    fl.add_argument("--label", help="description label to set on first boot")
    fl.add_argument(
        "--stage", type=Path, help="staging folder (default gbhan-out/flash/BOARD-ROLE)"
    )
    fl.add_argument("--mpy-compat", help="mpy-cross -c VERSION for the board's MicroPython")
    fl.add_argument(
        "--resume", action="store_true", help="connect without a soft reset (mpremote resume)"
    )
    fl.add_argument("--no-reset", action="store_true", help="do not reset the board afterwards")
    fl.add_argument("--dry-run", action="store_true", help="print the mpremote commands only")
    fl.set_defaults(func=cmd_flash)


def main(argv: list[str] | None = None) -> int:
    from .cli import run_group

    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
