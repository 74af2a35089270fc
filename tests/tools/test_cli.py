"""The `gbhan` entry point loads only what a command needs: `gbhan --help` lists every
command without importing a group, `gbhan gbcs ...` imports the codec and not the emulator,
and the listing says what each group's own register() says."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import cli
from tools.gbcs_cmd import SUBCOMMANDS

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("emulator", "zigpy", "aiohttp", "lxml", "hil", "numpy")


def subcommands(parser) -> dict[str, str]:
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_the_listing_is_what_each_group_registers():
    assert subcommands(cli.listing_parser()) == subcommands(cli.build_parser())
    assert list(subcommands(cli.build_parser())) == list(cli.COMMANDS)


def _gbcs_parsers(parser) -> dict:
    (command,) = [a for a in parser._actions if a.dest == "command"]
    (gbcs_command,) = [a for a in command.choices["gbcs"]._actions if a.dest == "gbcs_command"]
    return gbcs_command.choices


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_a_gbcs_subcommand_built_alone_is_the_one_built_with_the_rest(name):
    """`gbhan gbcs NAME` builds NAME's parser alone: the same usage, help and defaults as
    in the whole group; a word that names no subcommand builds them all."""
    whole = _gbcs_parsers(cli.build_parser(["gbcs"]))
    alone = _gbcs_parsers(cli.build_parser(["gbcs"], name))
    assert list(alone) == [name]
    assert alone[name].format_help() == whole[name].format_help()
    assert alone[name]._defaults == whole[name]._defaults
    assert list(_gbcs_parsers(cli.build_parser(["gbcs"], "-h"))) == list(whole)


def modules_after(*argv: str) -> tuple[int, set[str], str]:
    """Run `gbhan ARGV` in a fresh interpreter: its exit code, the modules it had imported,
    and its standard output."""
    code = (
        "import sys\n"
        "from tools import cli\n"
        "try:\n"
        "    status = cli.main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "print('\\nMODULES', ' '.join(sorted(sys.modules)))\n"
        "sys.exit(status)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    out, _, loaded = run.stdout.rpartition("\nMODULES ")
    return run.returncode, set(loaded.split()), out


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_group():
    status, modules, out = modules_after("--help")
    assert status == 0
    for command in cli.COMMANDS:
        assert command in out
    assert not {m for m in modules if m.startswith("tools.") and m != "tools.cli"}
    assert not top_level(modules) & {"gbcs", "construct", "cryptography", *HEAVY}


def test_a_mistyped_command_is_named_without_importing_a_group():
    status, modules, _ = modules_after("gbsc", "check")
    assert status == 2
    assert "gbcs" not in top_level(modules)


@pytest.mark.parametrize(
    "argv",
    [
        ("gbcs", "decode", "DF0901"),
        ("gbcs", "check", "--help"),
    ],
    ids=["decode", "check-help"],
)
def test_gbcs_imports_the_codec_and_not_the_emulator(argv):
    status, modules, _ = modules_after(*argv)
    assert status in (0, 1)
    assert "gbcs" in top_level(modules)
    assert not top_level(modules) & set(HEAVY)
    assert not {m for m in modules if m.startswith("tools.") and m.endswith("_cmd")} - {
        "tools.gbcs_cmd"
    }


def test_a_reader_that_stops_early_gets_no_traceback():
    """`gbhan gbcs decode DIR | head`: the pipe closes under gbhan, which stops quietly."""
    run = subprocess.run(
        f"{sys.executable} -m tools.cli gbcs decode data/rtds | head -n 2",
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(run.stdout.splitlines()) == 2
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr


RTDS = REPO / "data" / "rtds" / "RTDS-4.5.0"
KEYSTORE = REPO / "emulator" / "dccdata" / "rtds" / "keystore"


def test_a_check_starts_without_pdb_or_shutil():
    """construct imports pdb, and argparse's formatter shutil, for a debugger and a terminal
    width a check never uses: neither is loaded (pdb is the stand-in, unread)."""
    argv = ("gbcs", "check", str(RTDS / "7.7_ECS61a"), "--keystore", str(KEYSTORE))
    status, modules, out = modules_after(*argv)
    assert status == 0, out
    assert "construct" in modules and "pdb" in modules
    assert not {"bdb", "shutil", "bz2", "lzma"} & modules


def test_pdb_works_after_a_command_deferred_it():
    """The stand-in becomes pdb at its first use, for new importers and for construct's
    own reference alike."""
    code = (
        "import sys\n"
        "from tools import cli\n"
        "cli.main(['gbcs', 'decode', 'DF0901'])\n"
        "import construct.debug, pdb\n"
        "assert callable(construct.debug.pdb.post_mortem)\n"
        "assert isinstance(pdb.Pdb, type) and sys.modules['pdb'].Pdb is pdb.Pdb\n"
        "assert 'bdb' in sys.modules\n"
        "print('pdb ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.stdout.strip().endswith("pdb ok"), run.stderr[-500:]


@pytest.mark.parametrize("columns", [50, 120])
def test_help_is_as_wide_as_the_terminal_says(columns):
    env = {**os.environ, "COLUMNS": str(columns)}
    run = subprocess.run(
        [sys.executable, "-m", "tools.cli", "gbcs", "check", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    widths = [len(line) for line in run.stdout.splitlines()]
    assert run.returncode == 0 and max(widths) <= columns - 2
    assert max(widths) > columns - 2 - 25  # filled out to near the width, not left at 80


EXIT_PROBE = (
    "import atexit, sys\n"
    "from tools import cli\n"
    "atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"
    "cli.console()\n"
)


@pytest.mark.parametrize(
    ("folder", "status"), [("7.7_ECS61a", 0), ("NA_PCS02", 1)], ids=["passes", "fails"]
)
def test_a_check_exits_at_once_with_its_output_whole(tmp_path, folder, status):
    """`gbhan gbcs check` skips the interpreter's teardown (atexit handlers included) but
    not its output: every line reaches a file, and the status is the check's."""
    out = tmp_path / "out.txt"
    argv = ["gbcs", "check", str(RTDS / folder), "--keystore", str(KEYSTORE)]
    with out.open("w") as sink:
        run = subprocess.run(
            [sys.executable, "-c", EXIT_PROBE, *argv],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    lines = out.read_text().splitlines()
    assert run.returncode == status
    assert lines[-1].startswith(f"checked {len(list((RTDS / folder).iterdir()))} files")
    assert len(lines) == 1 + 2 * status  # NA_PCS02: one verdict line per message
    assert "atexit ran" not in run.stderr


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_mid_check_stops_it_with_a_line_not_a_traceback(jobs):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during a long check:
    gbhan says it was interrupted, prints no traceback, ends by SIGINT as an interrupted
    program should, and leaves no worker behind."""
    argv = ["gbcs", "check", *[str(RTDS)] * 20, "--keystore", str(KEYSTORE), "-j", str(jobs)]
    run = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the "terminal" signalled below
    )
    assert run.stderr is not None
    first = run.stderr.readline()  # said before the first message is checked
    assert first.startswith("checking "), first
    time.sleep(0.3)  # well inside the 22,060 messages' second or more of checking
    assert run.poll() is None, "the check ended before it could be interrupted"
    os.killpg(run.pid, signal.SIGINT)
    rest = run.stderr.read()
    assert run.wait(timeout=60) == -signal.SIGINT
    assert rest == "gbhan: interrupted\n"  # no traceback, from gbhan or a worker
    deadline = time.monotonic() + 10
    while True:  # every worker ended and reaped: nothing left in the group
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a worker outlived the interrupted check"
        time.sleep(0.05)


def test_other_commands_exit_as_usual():
    run = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, "gbcs", "decode", "DF0901"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "atexit ran" in run.stderr
