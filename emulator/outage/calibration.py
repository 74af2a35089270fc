"""Our model against the DCC's own figures (seed 003) for 30,000 homes: per row, ours, the
DCC's, their ratio, and whether ours is within ±20 %. The 'current' rows are the calibration
targets; options A and B show what the model says those changes do."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from . import params
from .fleet import DEFAULT_OUTAGE_S, DEFAULT_SEED, simulate
from .metrics import share_time

DCC_FILE = params.PARAMS_DIR / "dcc_seed003.toml"
TOLERANCE = 0.20
CONFIGS = ("current", "option-a", "option-b")
_DURATION = re.compile(r"^\s*(\d+)m\s*(\d+)s\s*$")


def parse_duration(text: str) -> float:
    """'6m 30s' -> 390.0 (the seed's notation)."""
    match = _DURATION.match(text)
    if not match:
        raise params.OutageParamError(f"{DCC_FILE.name}: bad duration {text!r}")
    return float(int(match[1]) * 60 + int(match[2]))


@dataclass(frozen=True)
class DccRow:
    region: str
    alert: str  # "poa" or "pra"
    share: int  # percent of homes delivered
    config: str  # "current", "option-a", "option-b"
    dcc_s: float
    text: str  # as printed in the seed


def dcc_rows() -> tuple[int, str, list[DccRow]]:
    """(homes, source, rows) from the DCC reference file."""
    with open(DCC_FILE, "rb") as fh:
        table = tomllib.load(fh)
    rows = []
    for region, alert, share, *times in table["rows"]:
        for config, text in zip(CONFIGS, times, strict=True):
            rows.append(DccRow(region, alert, share, config, parse_duration(text), text))
    return table["homes"], table["source"], rows


@dataclass(frozen=True)
class Compared:
    row: DccRow
    ours_s: float | None  # None: our model never delivers that share

    @property
    def ratio(self) -> float | None:
        return None if self.ours_s is None else self.ours_s / self.row.dcc_s

    @property
    def within(self) -> bool:
        return self.ratio is not None and abs(self.ratio - 1.0) <= TOLERANCE


def calibrate(
    homes: int | None = None,
    seed: int = DEFAULT_SEED,
    configs: tuple[str, ...] = CONFIGS,
    progress=None,
) -> list[Compared]:
    """Run each region under each DCC configuration once and compare every DCC row."""
    dcc_homes, _, rows = dcc_rows()
    homes = homes or dcc_homes
    out = []
    runs = [(r, c) for r in params.REGIONS for c in configs]
    for i, (region, config) in enumerate(runs):
        outcome = simulate(params.model(region, config), homes, DEFAULT_OUTAGE_S, seed)
        if progress:
            progress(i + 1, len(runs), f"{region} {config}")
        for row in rows:
            if row.region == region and row.config == config:
                times = outcome.poa_s if row.alert == "poa" else outcome.pra_s
                out.append(Compared(row, share_time(times, row.share / 100)))
    return out


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def table(results: list[Compared]) -> str:
    """The calibration table as Markdown (the same text the README carries)."""
    lines = [
        "| region | alert | delivered | config | DCC | ours | ours/DCC | ±20 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in results:
        r = c.row
        ratio = "—" if c.ratio is None else f"{c.ratio:.2f}"
        verdict = "pass" if c.within else "FAIL"
        if r.config != "current":
            verdict = f"({verdict.lower()})"  # shown, not a calibration target
        lines.append(
            f"| {r.region} | {r.alert.upper()} | {r.share} % | {r.config} | {fmt_s(r.dcc_s)} "
            f"| {fmt_s(c.ours_s)} | {ratio} | {verdict} |"
        )
    return "\n".join(lines)
