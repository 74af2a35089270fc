"""The CLI group registers `hil run` and a top-level `flash`, and builds the pytest command."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools import hil_cmd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gbhan")
    hil_cmd.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_hil_run_and_flash_are_registered():
    args = _parser().parse_args(["hil", "run", "--role", "plcs"])
    assert (args.func, args.dut, args.role, args.junit) == (
        hil_cmd.cmd_run,
        "virtual",
        "plcs",
        None,
    )
    args = _parser().parse_args(
        ["flash", "--port", "/dev/ttyACM0", "--board", "esp32", "--role", "hcalcs", "--dry-run"]
    )
    assert (args.func, args.board, args.dry_run) == (hil_cmd.cmd_flash, "esp32", True)


def test_suite_command_for_a_physical_board():
    argv = hil_cmd.suite_command(
        "serial:///dev/ttyACM0", "hcalcs", Path("r.xml"), Path("r.html"),
        power="usb-relay:///dev/ttyUSB1", dut_console="/dev/ttyACM1",
    )  # fmt: skip
    joined = " ".join(argv)
    assert str(hil_cmd.suite_dir()) in argv
    assert "--dut serial:///dev/ttyACM0" in joined and "--power usb-relay:///dev/ttyUSB1" in joined
    assert "--dut-console /dev/ttyACM1" in joined and "--junitxml r.xml" in joined
    assert "junit_family=xunit1" in argv and "--hil-html" in argv


def test_rig_file_in_the_callers_directory_reaches_the_child_pytest(tmp_path, monkeypatch):
    """The child pytest runs in the checkout: the rig file is found here and passed on."""
    monkeypatch.delenv("GBHAN_RIG", raising=False)
    monkeypatch.delenv("GBHAN_DUT_CONSOLE", raising=False)
    monkeypatch.chdir(tmp_path)
    rig = tmp_path / ".gbhan-rig.toml"
    rig.write_text('[[board]]\nradio = "/dev/ttyUSB0"\nconsole = "/dev/ttyACM0"\n')
    assert hil_cmd.check_wiring("/dev/ttyACM0", None, None) == rig
    argv = hil_cmd.suite_command("/dev/ttyACM0", "plcs", Path("r.xml"), Path("r.html"), rig=rig)
    assert argv[argv.index("--rig") + 1] == str(rig)
