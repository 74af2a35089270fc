"""Type checks of each board's code against that port's MicroPython stubs (mypy).

The stubs must not be installed into the dev venv (they shadow CPython's `time`, `select` ...),
so they live in their own folders: GBHAN_STUBS_DIR/<port> made with
`pip install --target $GBHAN_STUBS_DIR/<port> micropython-<port>-stubs` (rp2, esp32, unix).
Without them (or without mypy) these tests fail and say how to install them (./test.sh does). The xbee3 board has no
published stubs; it is checked by mpy-cross only (test_fw_repo_rules.py).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fw_constants import REPO

STUBS = Path(os.environ.get("GBHAN_STUBS_DIR", REPO / "build" / "typings"))
BOARDS = ["rp2", "esp32", "unix"]
ALL_BOARDS = ["rp2", "esp32", "unix", "xbee3"]


@pytest.mark.parametrize("board", BOARDS)
def test_board_code_type_checks_against_its_stubs(board, tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed (pip install -e .[test])")
    stubs = STUBS / board
    if not (stubs / "machine.pyi").exists() and not (stubs / "machine").exists():
        pytest.fail(
            f"no {board} stubs in {stubs} (pip install --target {stubs} micropython-{board}-stubs)"
        )
    others = ",".join(f"firmware.hal.{b}" for b in ALL_BOARDS if b != board)
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\npython_version = 3.12\nno_site_packages = True\n"
        f"custom_typeshed_dir = {stubs}\nmypy_path = {stubs}:{REPO}\n"
        "explicit_package_bases = True\nnamespace_packages = True\ncheck_untyped_defs = True\n"
        "cache_dir = " + str(tmp_path / "cache") + "\n"
        # the stubs themselves have errors; we only want ours
        "[mypy-machine,rp2,rp2.*,esp32,esp32.*,_mpy_shed,_mpy_shed.*,vfs,network,bluetooth]\n"
        "ignore_errors = True\n"
        f"[mypy-{others}]\nfollow_imports = skip\n"
    )
    files = ["firmware/lib", "firmware/switch", "firmware/main.py", f"firmware/hal/{board}.py"]
    if board != "unix":
        files.append("firmware/hal/mcu.py")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
