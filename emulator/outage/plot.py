"""The delivery curves (share of homes whose alert has arrived, against time) for one or more
runs, with the SEC and DNO deadlines and the DCC's own points, as a PNG (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fleet import Outcome
from .rules import DNO_DELIVERED, DNO_POA_S, DNO_PRA_S, SEC_POA_S, SEC_PRA_S

_MAX_POINTS = 2000  # per curve: plenty for the eye, keeps the PNG quick to draw
_MARKERS = ("x", "+", "^", "s")


def _curve(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    done = np.sort(times[~np.isnan(times)])
    share = np.arange(1, done.size + 1) / times.size * 100
    if done.size > _MAX_POINTS:
        pick = np.unique(np.linspace(0, done.size - 1, _MAX_POINTS).astype(int))
        done, share = done[pick], share[pick]
    return done / 60, share


def write_cdf(
    outcomes: list[Outcome],
    path: Path,
    dcc_points: dict[str, list[tuple[str, float, int]]] | None = None,
    title: str | None = None,
) -> Path:
    """Two panels, POA (from the outage start) and PRA (from restoration). `dcc_points` maps
    'poa'/'pra' to (label, seconds, share %) markers."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=100)
    panels = (
        ("poa", "Power Outage Alert: minutes from the outage start", SEC_POA_S, DNO_POA_S),
        ("pra", "Power Restoration Alert: minutes from restoration", SEC_PRA_S, DNO_PRA_S),
    )
    for ax, (alert, xlabel, sec_s, dno_s) in zip(axes, panels, strict=True):
        longest = max(sec_s, dno_s) / 60 * 1.5
        colours = {}
        for o in outcomes:
            x, y = _curve(o.poa_s if alert == "poa" else o.pra_s)
            (line,) = ax.step(x, y, where="post", label=o.model.strategy)
            colours[o.model.strategy] = line.get_color()
        markers: dict[str, str] = {}
        for config, seconds, share in (dcc_points or {}).get(alert, []):
            label = None if config in markers else f"DCC {config} (seed 003)"
            marker = markers.setdefault(config, _MARKERS[len(markers) % len(_MARKERS)])
            ax.plot(seconds / 60, share, marker, color=colours.get(config, "black"),
                    markersize=9, markeredgewidth=2, linestyle="none", label=label)  # fmt: skip
            longest = max(longest, seconds / 60)
        ax.axvline(sec_s / 60, color="tab:red", linestyle="--", label=f"SEC {sec_s / 60:g} min")
        ax.axvline(dno_s / 60, color="tab:purple", linestyle=":", label=f"DNO {dno_s / 60:g} min")
        ax.axhline(DNO_DELIVERED * 100, color="grey", linewidth=0.8, label="DNO 99.5 %")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("homes whose alert reached the DNO (%)")
        ax.set_ylim(0, 101)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_xlim(0, longest * 1.05)
    if outcomes:
        o = outcomes[0]
        fig.suptitle(
            title or f"{o.model.region}: {o.homes:,} homes, outage {o.outage_s / 60:g} min"
        )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
