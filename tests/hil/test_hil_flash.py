"""`gbhan flash`: the staged tree, the role config, the exact mpremote commands (--dry-run),
and real deploys with mpremote to the MicroPython unix port's REPL behind a pty: onto an
empty board, over an older firmware (no stale file survives) and one whose copy came out
wrong (the read-back by SHA-256 says which file)."""

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
    on_board = root.lstrip(":")
    assert [c[:3] for c in cmds] == [[str(flash.MPREMOTE), "connect", "/dev/ttyACM0"]] * 8
    assert cmds[0][3:] == ["exec", f"open('{on_board}safeboot','w').close()"]
    assert cmds[1][3] == "exec" and f"rm('{on_board}main.py')" in cmds[1][4]
    assert f"rm('{on_board}firmware')" in cmds[1][4]
    assert [c[3:] for c in cmds[2:5]] == [
        ["fs", "cp", "-r", str(stage / "firmware"), f"{root}firmware"],
        ["fs", "cp", str(stage / "config.json"), f"{root}config.json"],
        ["fs", "cp", str(stage / "main.py"), f"{root}main.py"],  # last: no half tree runs
    ]
    assert cmds[5][3:] == ["exec", flash.verify_script(board)]
    assert cmds[6][3] == "exec" and f"rm('{on_board}safeboot')" in cmds[6][4]
    assert cmds[7][3:] == ["reset"]
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
    assert len(cmds) == 7 and all(
        c[1:4] == ["connect", "socket://rig:4000", "resume"] for c in cmds
    )
    assert cmds[-1][4:] != ["reset"]


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


class UnixRepl:
    """The MicroPython unix port's REPL on a pty, in a folder that is its flash (`resume`:
    a soft reset would end the unix process)."""

    def __init__(self, board_root: Path):
        self.root = board_root
        self.master, self.slave = os.openpty()
        self.name = os.ttyname(self.slave)
        tty.setraw(self.slave)
        self.proc = subprocess.Popen(
            [str(MICROPYTHON)],
            stdin=self.master,
            stdout=self.master,
            stderr=self.master,
            cwd=board_root,
            start_new_session=True,
        )
        seen = b""
        deadline = time.monotonic() + 20
        while b">>> " not in seen:  # the REPL is up before mpremote talks to it
            assert time.monotonic() < deadline, f"no REPL prompt: {seen!r}"
            if select.select([self.slave], [], [], 0.5)[0]:
                seen += os.read(self.slave, 4096)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)
        os.close(self.slave)

    def files(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}


MICROPYTHON = Path(sys.executable).with_name("micropython")


@pytest.fixture
def repl(tmp_path):
    (tmp_path / "board").mkdir()
    board = UnixRepl(tmp_path / "board")
    yield board
    board.close()


def _plan(repl, tmp_path) -> flash.FlashPlan:
    return flash.plan(
        repl.name,
        "rp2",
        "hcalcs",
        tmp_path / "stage",
        esme="00124b0001a2b3c4",
        resume=True,
        reset=False,
    )


def test_deploy_to_the_unix_port_repl(repl, tmp_path):
    """mpremote really copies the tree onto a MicroPython 'board', reads it back by SHA-256,
    leaves no safeboot file, and the copy imports."""
    plan = _plan(repl, tmp_path)
    said: list[str] = []
    flash.deploy(plan, echo=said.append, timeout=30)
    staged = {p.relative_to(plan.stage).as_posix() for p in plan.stage.rglob("*") if p.is_file()}
    assert repl.files() == staged
    assert any(line.startswith("verified: ") for line in said)
    assert json.loads((repl.root / "config.json").read_text())["role"] == "hcalcs"
    check = subprocess.run(
        [str(MICROPYTHON), "-c", "import firmware.switch.state as s; print(s.ROLE_HCALCS)"],
        cwd=repl.root,
        env=dict(os.environ, MICROPYPATH=str(repl.root)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.stdout.strip() == "hcalcs", check


def test_reflash_leaves_no_stale_file(repl, tmp_path):
    """Over an older firmware: its sources (which MicroPython would import before the new
    .mpy), a module the new version dropped and its main.py are gone; only the new tree is."""
    old = repl.root / "firmware"
    (old / "switch").mkdir(parents=True)
    (old / "main.py").write_text("print('old firmware')\n")  # shadows the new main.mpy
    (old / "switch" / "app.py").write_text("raise ImportError('old')\n")
    (old / "lib").mkdir()
    (old / "lib" / "dropped.mpy").write_bytes(b"M\x06")
    (repl.root / "main.py").write_text("import old_app\n")
    plan = _plan(repl, tmp_path)
    flash.deploy(plan, echo=lambda _: None, timeout=30)
    staged = {p.relative_to(plan.stage).as_posix() for p in plan.stage.rglob("*") if p.is_file()}
    assert repl.files() == staged
    assert (repl.root / "main.py").read_text() == "import firmware.main\n"


def test_a_copy_that_came_out_wrong_is_named(repl, tmp_path):
    """A file changed on its way (here: after the copy, before the read-back) and a stray
    one: the deploy stops before safeboot is removed and names both."""
    plan = _plan(repl, tmp_path)

    def run(cmd, **kw):
        done = subprocess.run(cmd, **kw)
        if "cp" in cmd and cmd[-1] == ":main.py":
            (repl.root / "firmware" / "lib" / "xbee.mpy").write_bytes(b"M\x06 torn")
            (repl.root / "firmware" / "stray.py").write_text("")
        return done

    with pytest.raises(
        flash.FlashError, match=r"differ: firmware/lib/xbee.mpy; stale: firmware/stray.py"
    ):
        flash.deploy(plan, run=run, echo=lambda _: None, timeout=30)
    assert (repl.root / "safeboot").exists()  # the board stays out of the app
