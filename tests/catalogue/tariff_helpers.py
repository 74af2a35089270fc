"""Where the electricity tariff family's RTDS folders are: in data/rtds/ beside the rest, or
(while data/ lacks them) in this folder's vectors/ (vectors/README.md)."""

from __future__ import annotations

from pathlib import Path

from emulator import data

VECTORS = Path(__file__).with_name("vectors") / "RTDS-4.5.0"
ROOTS = (data.rtds(), VECTORS)


def rtds_folder(name: str) -> Path:
    """An RTDS use-case folder (e.g. '4.11.1_ECS24') from whichever root holds it."""
    for root in ROOTS:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"no RTDS folder {name} in {', '.join(map(str, ROOTS))}")


def rtds_files(pattern: str) -> list[Path]:
    """Every RTDS file matching `pattern` (relative to a root) in either root, sorted by name."""
    return sorted((p for root in ROOTS for p in root.glob(pattern)), key=lambda p: p.name)
