"""The `gbhan` command line: parses arguments and hands over to the packages.

Each command group lives in its own module with a `register(subparsers)` function, so the
groups (gbcs, board, emulate, hil ...) can grow without touching each other. A group's
module is imported only when its command is run: `gbhan gbcs check` loads the codec, not
the emulator, and `gbhan --help` lists the commands from COMMANDS without importing any.
"""

import argparse
import gc
import importlib
import os
import sys
from types import ModuleType
from typing import NoReturn


class _OnFirstUse(ModuleType):
    """Stands in for a standard-library module until something reads from it. construct
    imports pdb, inspect and traceback for a debugger and its error reports (and dataclasses
    imports inspect to write a docstring for a class that has none), none of which a command
    runs unless something goes wrong; their imports (bdb, cmd, code, pprint, ast, dis,
    tokenize, linecache, textwrap ...) are a tenth of `gbhan gbcs check`'s start. construct
    also imports hashlib, read only by its compile(), which gbcs does not call (gbcs hashes
    through cryptography, gbcs.digest): hashlib's import loads OpenSSL's `_hashlib`. And it
    imports pickle for its Pickled field, which gbcs does not use (a check's workers send
    their results marshal'd): ~1 ms more. The first attribute read (`pdb.set_trace()`,
    `breakpoint()`, `inspect.signature`, `traceback.print_exc()`, `from inspect import X`,
    pytest's --pdb) imports the real module, which then takes the name everywhere: new
    importers get it from sys.modules, and the stand-in that earlier importers hold takes
    on its every name."""

    def __getattr__(self, name: str) -> object:
        module = self.__name__
        if sys.modules.get(module) is self:
            del sys.modules[module]
        real = importlib.import_module(module)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


class _PlatformFirstUse(_OnFirstUse):
    """platform, whose import compiles nine regular expressions (~3.5 ms of `gbhan gbcs
    check`'s start), read once by construct's import only to ask platform.system() whether
    it runs on Windows. On Linux and macOS platform.system() is os.uname()'s system name,
    which this stand-in gives (used only there: see defer_modules); any other read imports
    the real module, as for every _OnFirstUse."""

    def system(self) -> str:
        return os.uname().sysname


# the modules a command's start leaves to their first use (see _OnFirstUse)
DEFERRED = ("pdb", "inspect", "traceback", "hashlib", "pickle")
# the systems whose platform.system() is os.uname().sysname itself (see _PlatformFirstUse)
_UNAME_SYSTEMS = ("linux", "darwin")


def defer_modules() -> None:
    """Put the stand-ins in place, each unless its module is imported already (a debugging
    session, a test run)."""
    for name in DEFERRED:
        sys.modules.setdefault(name, _OnFirstUse(name))
    if sys.platform in _UNAME_SYSTEMS:
        sys.modules.setdefault("platform", _PlatformFirstUse("platform"))


def terminal_columns() -> int:
    """The width argparse would read through shutil (COLUMNS, then the terminal, then 80),
    without importing shutil and its compressors."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter at the width it would choose. argparse builds one on every
    add_argument, and its own reads the width through shutil: an import a command's every
    start paid for a help text it seldom prints."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose formatter (and its subcommands' parsers') is HelpFormatter."""

    def __init__(self, prog: str | None = None, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(prog, **kwargs)


# command -> (the module under tools/ that registers it, its one-line help in `gbhan -h`);
# tests/tools/test_cli.py holds these to what each module's register() says
COMMANDS: dict[str, tuple[str, str]] = {
    "gbcs": ("gbcs_cmd", "GBCS codec: decode, encode, sign, verify, check"),
    "board": (
        "board_cmd",
        "the virtual board (switch or Comms Hub firmware on the MicroPython unix port)",
    ),
    "smki": ("smki_cmd", "SMKI repository: serve, extract, sync, populate"),
    "duis": ("duis_cmd", "DUIS XML: verify schema and signature"),
    "dsp": ("dsp_cmd", "the DCC/DSP back office over HTTP (DCC Boxed interface)"),
    "emulate": (
        "emulate_cmd",
        "run a feeder scenario (default feeder-overload), or `emulate command` one GBCS "
        "command on one emulated premises",
    ),
    "outage": (
        "outage_cmd",
        "fleet model of Power Outage / Restoration Alerts (POA/PRA) for N homes",
    ),
    "study": ("study_cmd", "studies over many feeders (a licence area)"),
    "hil": ("hil_cmd", "hardware-in-the-loop: run the switch suite on a DUT"),
    "flash": ("hil_cmd", "deploy the switch firmware to a board (mpremote)"),
}
DESCRIPTION = __doc__.splitlines()[0]


def group(command: str) -> ModuleType:
    """The module that registers `command` (imported now, on first use)."""
    return importlib.import_module(f"tools.{COMMANDS[command][0]}")


def build_parser(
    commands: list[str] | None = None, subcommand: str | None = None
) -> argparse.ArgumentParser:
    """The whole parser (every group imported), or only the groups of `commands`;
    `subcommand`: the word after the command, which a group that lists it in its
    SUBCOMMANDS builds alone (register's `only`)."""
    parser = Parser(prog="gbhan", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = dict.fromkeys(COMMANDS[c][0] for c in (commands or COMMANDS))
    for name in modules:
        module = importlib.import_module(f"tools.{name}")
        if subcommand is not None and subcommand in getattr(module, "SUBCOMMANDS", ()):
            module.register(sub, only=subcommand)
        else:
            module.register(sub)
    return parser


def listing_parser() -> argparse.ArgumentParser:
    """Every command with its help and nothing below it: enough for `gbhan -h` and for
    argparse to name a mistyped command, without importing a single group."""
    parser = Parser(prog="gbhan", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, (_, text) in COMMANDS.items():
        sub.add_parser(command, help=text, add_help=False)
    return parser


def _import_quietly(command: str) -> ModuleType:
    """The command's module, imported with the cyclic garbage collector paused. Importing
    allocates tens of thousands of objects (classes, functions, construct's Structs, tables)
    and no garbage cycles worth finding, yet every 700 allocations start a collection that
    walks the young objects, and some of them every object so far: `gbhan gbcs`'s imports
    53 -> 49 ms CPU (median of 25). Once imported they are moved out of the collector's
    view (gc.freeze: they live as long as the process), so later collections, in this
    process or a forked worker, do not walk them; the collector then runs as usual for the
    command's own objects. A module imported before (a second cli.main in one process, as
    tests run it) is only looked up: nothing is paused or frozen."""
    if f"tools.{COMMANDS[command][0]}" in sys.modules:
        return group(command)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return group(command)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_group(register, argv: list[str] | None = None) -> int:
    """`python -m tools.<group>_cmd ...`: one group's commands on their own (tests run them
    as subprocesses this way)."""
    parser = Parser(prog="gbhan")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


# set by a command that asks for it (`quick_exit` among its defaults): see exit_with
_quick_exit = False


def exit_with(status: int) -> NoReturn:
    """End the process with `status`. After a command that asked for a quick exit (`gbcs
    check`: its output written, its files closed, its workers reaped when it returns),
    stdout and stderr are flushed and the process ends at once, without the interpreter's
    teardown of every module and object (a fortieth of a 0.2 s check, spent on memory the
    operating system frees anyway). Every other command exits as usual (atexit handlers,
    logging's flush)."""
    if _quick_exit:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:  # the reader went away: as main() says, stop quietly
            status = status or 1
        os._exit(status)
    sys.exit(status)


def console() -> NoReturn:
    """The installed `gbhan` script and `python -m tools.cli`."""
    try:
        status = main()
    except KeyboardInterrupt:
        interrupted()
    exit_with(status)


def interrupted() -> NoReturn:
    """Ctrl-C: what was written so far flushed and one line said, not a traceback; then the
    process ends by SIGINT, as Python's own handling would, so that a shell or a script
    running gbhan knows it was interrupted and stops too (status 130 in a shell). A command
    with work to undo (workers to reap, a board to power off) has done it on the way out."""
    import signal

    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe or stream: nothing more to say there
        pass
    print("gbhan: interrupted", file=sys.stderr, flush=True)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)  # where SIGINT cannot end the process


def main(argv: list[str] | None = None) -> int:
    defer_modules()
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:
        # the reader went away (`gbhan gbcs decode DIR | head`): stop quietly, and keep
        # Python from failing again while it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _dispatch(argv: list[str]) -> int:
    command = argv[0] if argv else None
    if command not in COMMANDS:  # -h, nothing, or a mistyped command: argparse says which
        listing_parser().parse_args(argv)
        return 2  # not reached: parse_args exits on all of these
    module = _import_quietly(command)
    # a group whose grammar argparse cannot nest (e.g. `emulate [SCENARIO] [opts]` beside
    # `emulate command FILE opts`) parses its own arguments
    if command == getattr(module, "OWN_GRAMMAR", None):
        return int(module.main(argv[1:]) or 0)
    args = build_parser([command], argv[1] if len(argv) > 1 else None).parse_args(argv)
    status = int(args.func(args) or 0)
    global _quick_exit
    _quick_exit = bool(getattr(args, "quick_exit", False))
    return status


if __name__ == "__main__":
    console()
