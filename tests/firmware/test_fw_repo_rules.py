"""Firmware rules: every file compiles with mpy-cross, imports stay inside firmware/ and
MicroPython's own modules, the xbee3 board's code compiles for its older MicroPython, and
every unix-runnable module imports on the unix port from the compiled tree."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
from fw_constants import REPO, run_on_port

from emulator.virtual_board import MPY_CROSS

FIRMWARE = REPO / "firmware"
SOURCES = sorted(FIRMWARE.rglob("*.py"))
# MicroPython's own modules the firmware may use (the ports' built-ins and frozen asyncio),
# plus `xbee`, the module Digi's XBee 3 MicroPython provides.
MICROPYTHON_MODULES = {
    "asyncio",
    "binascii",
    "collections",
    "errno",
    "gc",
    "json",
    "machine",
    "micropython",
    "os",
    "select",
    "struct",
    "sys",
    "termios",
    "time",
    "vfs",
    "xbee",
    "network",
    "rp2",
    "esp32",
}
# The xbee3 board runs this subset; its MicroPython predates f-strings and `:=`.
XBEE3_COMPAT = "1.11"
XBEE3_FILES = [
    p
    for p in SOURCES
    if p.parts[-2] in ("lib", "switch") or p.name in ("main.py", "xbee3.py", "mcu.py")
]
OTHER_BOARDS = {"rp2.py", "esp32.py", "xbee3.py"}


def ids(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_firmware_tree_is_not_empty():
    assert {"main.py", "app.py", "xbee.py", "unix.py"} <= {p.name for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=ids)
def test_compiles_and_imports_only_firmware(path, tmp_path):
    result = subprocess.run(
        [str(MPY_CROSS), "-o", str(tmp_path / "out.mpy"), str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outside = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports do not work on every port"
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top != "firmware" and top not in MICROPYTHON_MODULES:
                outside.append(name)
    assert outside == [], f"{ids(path)} imports {outside}"


@pytest.mark.parametrize("path", XBEE3_FILES, ids=ids)
def test_compiles_for_the_xbee3_micropython(path, tmp_path):
    result = subprocess.run(
        [str(MPY_CROSS), "-c", XBEE3_COMPAT, "-o", str(tmp_path / "o.mpy"), str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


ROLE_PACKAGES = {"switch": "switch", "commshub": "commshub"}


@pytest.mark.parametrize("role", sorted(ROLE_PACKAGES))
def test_every_unix_module_imports_from_the_mpy_tree(mpy_tree, role):
    """A device runs one role: each role's modules, the shared lib and the unix HAL must all
    import together in one small heap (the other role's modules are not on the device)."""
    modules = []
    for path in SOURCES:
        if path.name in OTHER_BOARDS or path.name in ("main.py", "manifest.py", "flashcount.py"):
            continue  # other boards need their port's machine; main starts the device; the
            # manifest is read by MicroPython's build (makemanifest.py), never imported; the
            # erase-counting flash is a rig's instrument (GBHAN_WEAR), never on a device
        parts = path.relative_to(REPO / "firmware").parts
        if parts[0] in ROLE_PACKAGES.values() and parts[0] != ROLE_PACKAGES[role]:
            continue
        modules.append(".".join(path.relative_to(REPO).with_suffix("").parts))
    assert any(f"firmware.{ROLE_PACKAGES[role]}." in m for m in modules), modules
    script = "\n".join(f"import {m}" for m in modules) + f"\nprint('imported', {len(modules)})"
    result = run_on_port(mpy_tree, script)
    assert result.stdout.strip().endswith(f"imported {len(modules)}"), result.stdout
    assert not list(mpy_tree.rglob("*.py")), "the compiled tree must hold no sources"
