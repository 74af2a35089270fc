"""Shared by the outage tests (a module of its own, not conftest: see tests/firmware)."""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools import outage_cmd  # noqa: E402

VECTORS = Path(__file__).resolve().parent / "vectors"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Until tools/cli.py lists outage_cmd in GROUPS, the same parser is built here.
RUNNER = (
    "import argparse, sys\n"
    "from tools import outage_cmd\n"
    "parser = argparse.ArgumentParser(prog='gbhan')\n"
    "outage_cmd.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def gbhan(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gbhan")
    outage_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR; raises AssertionError if it is not a PNG."""
    head = Path(path).read_bytes()[:33]
    assert head[:8] == PNG_MAGIC, f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert kind == b"IHDR" and length == 13, f"{path}: no IHDR first"
    return struct.unpack(">II", head[16:24])
