"""Where the test data lives (found by emulator.data), and the RTDS files as pytest parameters (by file name)."""

import datetime as dt
import os
from functools import cache
from pathlib import Path

import pytest

from emulator import data

RTDS_ROOT = data.rtds()
RTDS_KEYSTORE = data.rtds_keystore()
DCCBOXED_KEYSTORE = data.dccboxed_keystore()
# RTDS organisation certificates are valid 2015-2025: check RTDS with a pinned clock.
RTDS_CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def rtds_files(pattern: str = "*") -> list[Path]:
    return sorted(RTDS_ROOT.glob(f"*/{pattern}.HEX"))


def params(files: list[Path]):
    """pytest parameters named after the file, so a failure names its vector."""
    return [pytest.param(f, id=f.name) for f in files]


def read_vector(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


@cache
def rtds_keystore():
    from gbcs.keystore import Keystore

    return Keystore.open(RTDS_KEYSTORE, clock=RTDS_CLOCK)


def child_processes() -> set[int]:
    """This process's child processes (Linux /proc), zombies included."""
    own = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == own:
                found.add(int(entry))
    return found
