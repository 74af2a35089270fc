"""Fixtures for the firmware tests: they all run the firmware on the MicroPython unix port.

`port` is a codec driver process (firmware functions called over JSON lines); `make_board`
starts virtual boards (the mpy-cross build, behind two ptys) with the heap limited to
`FIRMWARE_HEAP`, the budget the firmware must fit (an RP2040 application's share).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fw_constants import ESME, FIRMWARE_HEAP, HERE, LABEL, REPO, STRANGER, VECTORS  # noqa: F401

from emulator.virtual_board import MICROPYTHON, VirtualBoard, build_mpy_tree


@pytest.fixture(scope="session")
def mpy_tree() -> Path:
    return build_mpy_tree()


class PortSession:
    """One unix-port process running tests/firmware/port/codec_driver.py."""

    def __init__(self, tree: Path, heap: str = "1M"):
        env = dict(os.environ, MICROPYPATH=f".frozen:{tree}")
        self.proc = subprocess.Popen(
            [str(MICROPYTHON), "-X", f"heapsize={heap}", str(HERE / "port" / "codec_driver.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
            cwd=tree,
        )  # not the checkout: its firmware/*.py would shadow the .mpy build

    def call(self, name: str, *args):
        """Call firmware function `module.name`; bytes in/out; errors come back as dicts."""
        self.proc.stdin.write(
            json.dumps({"call": name, "args": [_to_json(a) for a in args]}) + "\n"
        )
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"codec driver died (exit {self.proc.wait()})")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            rest = self.proc.stdout.read() if self.proc.wait(timeout=5) is not None else ""
            raise RuntimeError(f"codec driver: {line}{rest}") from None
        if "error" in reply:
            return PortError(reply["error"], reply.get("status"), reply.get("message"))
        return _from_json(reply["ok"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class PortError:
    def __init__(self, kind: str, status: int | None, message: str | None):
        self.kind, self.status, self.message = kind, status, message

    def __repr__(self) -> str:
        return f"PortError({self.kind}, status={self.status}, {self.message!r})"


def _to_json(value):
    if isinstance(value, bytes | bytearray):
        return "hex:" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


@pytest.fixture(scope="module")
def port(mpy_tree):
    session = PortSession(mpy_tree)
    yield session
    session.close()


@pytest.fixture
def make_board(tmp_path, mpy_tree):
    """Factory: make_board(role) -> a powered-on VirtualBoard; all are closed afterwards."""
    boards = []

    def _make(
        role: str = "hcalcs",
        esme: str | None = ESME,
        label: str | None = LABEL,
        state_dir: Path | None = None,
        power_on: bool = True,
        **kw,
    ) -> VirtualBoard:
        board = VirtualBoard(
            role,
            state_dir or tmp_path / f"flash{len(boards)}",
            esme=esme,
            label=label,
            heap=kw.pop("heap", FIRMWARE_HEAP),
            **kw,
        )
        boards.append(board)
        if power_on:
            board.power_on()
        return board

    yield _make
    for board in boards:
        board.close()
