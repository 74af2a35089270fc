"""`gbhan flash`: the staged tree, the role config, the exact mpremote commands (--dry-run),
and a real deploy with mpremote to the MicroPython unix port's REPL behind a pty."""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest

from hil import flash
from tools import hil_cmd

BOARDS = sorted(flash.BOARDS)


def _dry_run(capsys, *argv) -> list[list[str]]:
    assert hil_cmd.main(["flash", *argv, "--dry-run"]) == 0
    return [shlex.split(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("board", BOARDS)
def test_dry_run_prints_the_mpremote_commands(board, tmp_path, capsys):
    stage = tmp_path / "stage"
    cmds = _dry_run(
        capsys,
        "--port",
        "/dev/ttyACM0",
        "--board",
        board,
        "--role",
        "plcs",
        "--stage",
        str(stage),
        "--esme",
        "00:12:4b:00:01:a2:b3:c4",
    )
    root = flash.BOARDS[board]["root"]
    assert [c[:3] for c in cmds] == [[str(flash.MPREMOTE), "connect", "/dev/ttyACM0"]] * 4
    assert [c[3:] for c in cmds] == [
        ["fs", "cp", "-r", str(stage / "firmware"), f"{root}firmware"],
        ["fs", "cp", str(stage / "config.json"), f"{root}config.json"],
        ["fs", "cp", str(stage / "main.py"), f"{root}main.py"],  # last: no half tree runs
        ["reset"],
    ]
    config = json.loads((stage / "config.json").read_text())
    assert config == {"board": board, "role": "plcs", "esme": "00124b0001a2b3c4"}
    assert (stage / "main.py").read_text() == "import firmware.main\n"


@pytest.mark.parametrize("board", BOARDS)
def test_staged_tree_has_only_this_boards_hal_compiled(board, tmp_path):
    stage = flash.stage_firmware(board, "hcalcs", tmp_path / "s")
    files = {
        p.relative_to(stage / "firmware").as_posix()
        for p in (stage / "firmware").rglob("*")
        if p.is_file()
    }
    assert {
        "main.mpy",
        "switch/app.mpy",
        "switch/labels.txt",
        "lib/xbee.mpy",
        f"hal/{board}.mpy",
        "hal/mcu.mpy",
    } <= files
    assert not any(f.endswith(".py") for f in files)
    assert {f for f in files if f.startswith("hal/")} == {f"hal/{board}.mpy", "hal/mcu.mpy"}
    assert all(f.split("/")[0] in ("main.mpy",) + flash.SWITCH_PACKAGES for f in files)
    header = (stage / "firmware" / "main.mpy").read_bytes()[:2]
    assert header[0] == ord("M")  # an .mpy file; xbee3 gets the older format
    assert header[1] == (4 if board == "xbee3" else 6)  # mpy v4 = MicroPython 1.11


def test_resume_and_no_reset(tmp_path, capsys):
    cmds = _dry_run(
        capsys,
        "--port",
        "socket://rig:4000",
        "--board",
        "rp2",
        "--role",
        "hcalcs",
        "--stage",
        str(tmp_path / "s"),
        "--resume",
        "--no-reset",
    )
    assert len(cmds) == 3 and all(
        c[1:4] == ["connect", "socket://rig:4000", "resume"] for c in cmds
    )


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(flash.FlashError, match="board"):
        flash.stage_firmware("pyboard", "hcalcs", tmp_path)
    with pytest.raises(flash.FlashError, match="not a firmware tree"):
        flash.stage_firmware("rp2", "hcalcs", tmp_path / "s", firmware=tmp_path)


def test_failed_step_stops_the_deploy(tmp_path):
    plan = flash.plan("/dev/null", "rp2", "hcalcs", tmp_path / "s")
    ran = []

    def run(cmd, **kw):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "failed to access /dev/null")

    with pytest.raises(flash.FlashError, match="failed to access"):
        flash.deploy(plan, run=run, echo=lambda _: None)
    assert len(ran) == 1


def test_deploy_to_the_unix_port_repl(tmp_path):
    """mpremote really copies the tree onto a MicroPython 'board' (the unix port's REPL on a
    pty; `resume` because a soft reset would end the unix process), and the copy imports."""
    board_root = tmp_path / "board"
    board_root.mkdir()
    master, slave = os.openpty()
    name = os.ttyname(slave)
    tty.setraw(slave)
    micropython = Path(sys.executable).with_name("micropython")
    repl = subprocess.Popen(
        [str(micropython)],
        stdin=master,
        stdout=master,
        stderr=master,
        cwd=board_root,
        start_new_session=True,
    )
    try:
        seen = b""
        deadline = time.monotonic() + 20
        while b">>> " not in seen:  # the REPL is up before mpremote talks to it
            assert time.monotonic() < deadline, f"no REPL prompt: {seen!r}"
            if select.select([slave], [], [], 0.5)[0]:
                seen += os.read(slave, 4096)
        plan = flash.plan(
            name,
            "rp2",
            "hcalcs",
            tmp_path / "stage",
            esme="00124b0001a2b3c4",
            resume=True,
            reset=False,
        )
        flash.deploy(plan, echo=lambda _: None, timeout=30)
    finally:
        repl.kill()
        repl.wait()
        os.close(master)
        os.close(slave)
    copied = {p.relative_to(board_root).as_posix() for p in board_root.rglob("*") if p.is_file()}
    staged = {p.relative_to(plan.stage).as_posix() for p in plan.stage.rglob("*") if p.is_file()}
    assert copied == staged
    assert json.loads((board_root / "config.json").read_text())["role"] == "hcalcs"
    check = subprocess.run(
        [str(micropython), "-c", "import firmware.switch.state as s; print(s.ROLE_HCALCS)"],
        cwd=board_root,
        env=dict(os.environ, MICROPYPATH=str(board_root)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.stdout.strip() == "hcalcs", check
