"""Outputs of a run: summary.json, interventions.json/.csv, the plot and report.html.

The plot (matplotlib, Agg backend, no display needed) shows feeder load against its rating,
the emergency spans, and a marker per SRV. report.html is self-contained: the plot is embedded
as a base64 PNG and the tables are plain HTML, so it opens from a mail attachment.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emulator.grid.interventions import InterventionLog

#: Marker style per SRV: (matplotlib marker, colour, legend text).
SRV_MARKERS = {
    "7.6": ("v", "tab:red", "7.6 curtail"),
    "7.7": ("o", "tab:gray", "7.7 read labels"),
    "7.8": ("^", "tab:green", "7.8 restore"),
    "7.9": ("P", "tab:blue", "7.9 add boost"),
    "7.10": ("X", "tab:purple", "7.10 remove boost"),
}


@dataclass
class RunRecord:
    """What a run produced, in the shape the writers need."""

    scenario: str
    description: str
    feeder: str
    premises: int
    rating_kw: float
    start_utc: str
    t: np.ndarray  # sample times, s
    load_kw: np.ndarray
    demand_kw: np.ndarray  # load if nothing were curtailed (same EV state)
    interventions: InterventionLog
    summary: dict
    timeline: list[tuple[float, str]] = field(default_factory=list)
    #: each step's EV switch output per premises (rows: steps, columns: premises_ids)
    output: np.ndarray = field(default_factory=lambda: np.ones((0, 0)))
    premises_ids: list[str] = field(default_factory=list)
    #: the headroom the DNO's policy kept under the rating at each sample (its margin and
    #: plug-in cover, kW); empty for a record without one
    headroom_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))


def plot_png(run: RunRecord) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    hours = run.t / 3600.0
    ax.plot(hours, run.load_kw, color="black", lw=1.2, label="feeder load")
    ax.plot(hours, run.demand_kw, color="0.6", lw=0.8, ls="--", label="load without curtailment")
    ax.axhline(run.rating_kw, color="tab:red", lw=1.0, label=f"rating {run.rating_kw:.0f} kW")
    for event in run.interventions.events:
        end = event.end if event.end is not None else float(run.t[-1])
        ax.axvspan(event.start / 3600.0, end / 3600.0, color="tab:orange", alpha=0.12)
    seen: set[str] = set()
    for record in run.interventions.all_srvs():
        style = SRV_MARKERS.get(record.srv)
        if style is None:
            continue
        marker, colour, text = style
        at = record.sent_at + (record.response_s or 0.0)
        y = float(np.interp(at, run.t, run.load_kw))
        ax.plot(
            at / 3600.0,
            y,
            marker=marker,
            color=colour,
            ms=6,
            ls="none",
            label=None if record.srv in seen else text,
        )
        seen.add(record.srv)
    ax.set_xlabel(f"hours since {run.start_utc}")
    ax.set_ylabel("kW")
    ax.set_title(f"{run.scenario}: feeder {run.feeder}, {run.premises} premises")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def shed_png(run: RunRecord) -> bytes:
    """Needed against shed over time (kW: uncurtailed demand above the rating, and what the
    DNO held back), with what the policy aimed to shed (the demand above the rating less the
    headroom it kept: margin and plug-in cover), and each customer's curtailment minutes: how
    close to the minimum the DNO shed, why the rest, and how evenly."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), dpi=100)
    ax, bars = fig.subplots(1, 2, width_ratios=(2.2, 1))
    hours = run.t / 3600.0
    needed = np.maximum(run.demand_kw - run.rating_kw, 0.0)
    shed = np.maximum(run.demand_kw - run.load_kw, 0.0)
    ax.fill_between(hours, 0.0, needed, color="tab:red", alpha=0.35, lw=0, label="needed")
    ax.plot(hours, shed, color="tab:blue", lw=1.0, label="shed")
    if run.headroom_kw.size == run.t.size and run.t.size:
        aimed = np.maximum(run.demand_kw - (run.rating_kw - run.headroom_kw), 0.0)
        ax.plot(
            hours,
            aimed,
            color="tab:purple",
            lw=1.0,
            ls="--",
            label="needed + headroom kept (margin, plug-in cover)",
        )
    ax.set_xlabel(f"hours since {run.start_utc}")
    ax.set_ylabel("kW")
    ax.set_title("needed (demand over the rating) vs shed", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    minutes = (run.output < 1.0).sum(axis=0) * _step_s(run) / 60.0 if run.output.size else []
    held = [(p[-4:], float(m)) for p, m in zip(run.premises_ids, minutes, strict=False) if m > 0]
    if held:
        names, values = zip(*held, strict=True)
        bars.barh(range(len(values)), values, color="tab:orange")
        bars.set_yticks(range(len(values)), names, fontsize=7)
        bars.axvline(float(np.mean(values)), color="black", lw=0.8, ls="--", label="mean")
        bars.legend(loc="lower right", fontsize=7)
    bars.set_xlabel("minutes curtailed")
    bars.set_title("per customer", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _step_s(run: RunRecord) -> float:
    return float(run.t[1] - run.t[0]) if run.t.size > 1 else 0.0


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(run: RunRecord, png: bytes, shed: bytes | None = None) -> str:
    summary_rows = [[k, v] for k, v in run.summary.items()]
    events = [
        [
            e.event,
            e.feeder,
            f"{e.start:.0f}",
            "" if e.end is None else f"{e.end:.0f}",
            e.reason,
            ", ".join(e.switches_used),
            ", ".join(map(str, e.levels_used)),
            f"{e.energy_curtailed_kwh:.2f}",
            e.customers_affected,
            len(e.srvs),
        ]
        for e in run.interventions.events
    ]
    srvs = [
        [
            r.srv,
            r.premises,
            "" if r.slot is None else r.slot,
            "" if r.level is None else r.level,
            r.purpose,
            r.status,
            f"{r.sent_at:.0f}",
            "" if r.response_s is None else f"{r.response_s:.2f}",
        ]
        for r in run.interventions.all_srvs()
    ]
    timeline = [[f"{t:.0f}", text] for t, text in run.timeline]
    image = base64.b64encode(png).decode("ascii")
    shed_image = "" if shed is None else base64.b64encode(shed).decode("ascii")
    shed_block = (
        ""
        if shed is None
        else '<h2>Needed against shed, and who carried it</h2>\n<img id="shed-plot" '
        'alt="needed and shed kW over time; minutes curtailed per customer" '
        f'src="data:image/png;base64,{shed_image}">\n<p>{html.escape(_shed_sentence(run))}</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>gbhan: {html.escape(run.scenario)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Feeder intervention report: {html.escape(run.scenario)}</h1>
<p>{html.escape(run.description)}</p>
<p>Feeder {html.escape(run.feeder)}, {run.premises} premises, rating {run.rating_kw:.1f} kW,
simulated from {html.escape(run.start_utc)}.</p>
<h2>Feeder load against its rating</h2>
<img id="load-plot" alt="feeder load, rating and SRV markers" src="data:image/png;base64,{image}">
{shed_block}
<h2>Summary</h2>
{_table(["figure", "value"], summary_rows)}
<h2>Interventions (DCP 371)</h2>
{
        _table(
            [
                "event",
                "feeder",
                "start s",
                "end s",
                "reason",
                "switches",
                "levels %",
                "energy curtailed kWh",
                "customers affected",
                "SRVs",
            ],
            events,
        )
    }
<h2>Service requests</h2>
{_table(["SRV", "premises", "slot", "level", "purpose", "status", "sent s", "response s"], srvs)}
<h2>Timeline</h2>
{_table(["t s", "event"], timeline)}
</body></html>
"""


def _shed_sentence(run: RunRecord) -> str:
    s = run.summary
    if "energy_needed_kwh" not in s:
        return ""
    return (
        f"Policy {s.get('policy')}: {s['energy_shed_kwh']} kWh shed where "
        f"{s['energy_needed_kwh']} kWh was the least that kept the feeder at its rating "
        f"(ratio {s['shed_to_needed_ratio']}; the least a policy that keeps 0 minutes over "
        f"whenever a car plugs in could shed here: {s.get('floor_shed_to_needed_ratio')}); "
        f"{s['minutes_over_rating']} min over the rating; "
        f"curtailment per customer max {s['curtailment_minutes_max']} min, mean "
        f"{s['curtailment_minutes_mean']} min; {s['srvs_per_kwh_shed']} SRVs per kWh shed."
    )


def write_outputs(run: RunRecord, out: Path) -> dict[str, Path]:
    """Write every output file of a run into ``out``; returns name → path."""
    out.mkdir(parents=True, exist_ok=True)
    png = plot_png(run)
    shed = shed_png(run)
    paths = {
        "summary.json": out / "summary.json",
        "interventions.json": out / "interventions.json",
        "interventions.csv": out / "interventions.csv",
        "feeder-load.png": out / "feeder-load.png",
        "shed-vs-needed.png": out / "shed-vs-needed.png",
        "report.html": out / "report.html",
    }
    paths["summary.json"].write_text(json.dumps(run.summary, indent=2) + "\n")
    paths["interventions.json"].write_text(run.interventions.to_json() + "\n")
    paths["interventions.csv"].write_text(run.interventions.to_csv())
    paths["feeder-load.png"].write_bytes(png)
    paths["shed-vs-needed.png"].write_bytes(shed)
    paths["report.html"].write_text(report_html(run, png, shed))
    return paths
