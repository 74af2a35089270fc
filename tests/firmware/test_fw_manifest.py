"""firmware/manifest.py, read as MicroPython's makemanifest.py reads it: it keeps the port's
own frozen modules and freezes the firmware package from the folder above firmware/."""

from __future__ import annotations

from fw_constants import REPO


def test_the_manifest_freezes_the_firmware_package_on_top_of_the_ports_own():
    calls: list[tuple] = []
    env = {
        "include": lambda path, **kw: calls.append(("include", path, kw)),
        "package": lambda name, **kw: calls.append(("package", name, kw)),
        "module": lambda name, **kw: calls.append(("module", name, kw)),
        "require": lambda name, **kw: calls.append(("require", name, kw)),
    }
    manifest = REPO / "firmware" / "manifest.py"
    exec(compile(manifest.read_text(), str(manifest), "exec"), env)  # noqa: S102
    assert calls[0] == ("include", "$(PORT_DIR)/boards/manifest.py", {})
    packages = [c for c in calls if c[0] == "package"]
    assert len(packages) == 1 and packages[0][1] == "firmware"
    base = (manifest.parent / packages[0][2]["base_path"]).resolve()
    assert (base / "firmware" / "main.py").is_file()  # base_path is relative to the manifest
    assert packages[0][2].get("opt") == 3
