"""The `gbhan` entry point loads only what a command needs: `gbhan --help` lists every
command without importing a group, `gbhan gbcs ...` imports the codec and not the emulator,
and the listing says what each group's own register() says."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools import cli

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("emulator", "zigpy", "aiohttp", "lxml", "hil", "numpy")


def subcommands(parser) -> dict[str, str]:
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_the_listing_is_what_each_group_registers():
    assert subcommands(cli.listing_parser()) == subcommands(cli.build_parser())
    assert list(subcommands(cli.build_parser())) == list(cli.COMMANDS)


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
