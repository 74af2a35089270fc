"""A region study's outputs: summary.json, a CSV per WAN option with one row per feeder, and
report.html with its plots (matplotlib, Agg; PNGs beside the page and embedded in it).

The plots answer the study's questions per WAN option: how long SRVs take (delivery to the
switch and the DNO's response, against the 30 s target), what share lands within 30 s, how
much of the energy over rating was shed while it was over, and which feeders still went over
their rating and for how long.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emulator.region.coordinator import RegionRun, summarise_rows
from emulator.region.wan import SRV_TARGET_S

CSV_FIELDS = (
    "index", "feeder", "premises", "rating_kw", "peak_kw", "peak_kw_without_curtailment",
    "minutes_over_rating", "longest_over_rating_min", "kw_over_rating_max",
    "energy_needed_kwh", "energy_shed_in_time_kwh", "energy_shed_kwh", "srv_count",
    "srv_within_30s", "srv_over_30s", "srv_unanswered", "response_s_p50", "response_s_max",
    "delivery_s_p50", "customers_affected", "ev_switches_discovered",
    "declined_premises_switched",
)  # fmt: skip


def option_summary(run: RegionRun) -> dict[str, Any]:
    p = run.params
    return {
        "option": p.option,
        "title": p.title,
        "wan": {
            "region": p.region,
            "capacity_per_s": p.capacity_per_s,
            "csp_latency_s": p.latency_s,
            "radio_latency_s": list(p.radio_latency_s),
            "han_latency_s": p.han_latency_s,
            "loss": p.loss,
            "background_per_s": p.background_per_s,
            "dsp_per_s": p.dsp_per_s,
            "dsp_latency_s": p.dsp_latency_s,
            "lookahead_s": round(p.lookahead_s, 3),
        },
        **summarise_rows(run.rows),
        "path": run.path_stats,
        "windows": run.windows,
        "workers": run.workers,
        "shards": run.shards,
        "rebuilt_shards": [list(r) for r in run.rebuilt],
        "wall_s": round(run.wall_s, 2),
        "worker_stats": run.worker_stats,
    }


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    response = np.array(row["response_s"], dtype=float)
    delivery = np.array(row["delivery_s"], dtype=float)
    out = {k: row[k] for k in CSV_FIELDS if k in row}
    out["response_s_p50"] = round(float(np.median(response)), 3) if response.size else ""
    out["response_s_max"] = round(float(response.max()), 3) if response.size else ""
    out["delivery_s_p50"] = round(float(np.median(delivery)), 3) if delivery.size else ""
    return out


def write_csv(run: RegionRun, path: Path) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in run.rows:
            writer.writerow(_csv_row(row))
    return path


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def plot_times(runs: Sequence[RegionRun], path: Path) -> Path:
    """CDFs of SRV delivery (to the switch) and response (back at the DNO) per option."""
    fig = _figure(12, 4.5)
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "delivery_s", "command reaches the switch"),
                           (axes[1], "response_s", "response back at the DNO")):  # fmt: skip
        for run in runs:
            values = np.sort(np.array([v for r in run.rows for v in r[key]], dtype=float))
            total = sum(r["srv_count"] for r in run.rows)
            if values.size and total:
                ax.plot(values, np.arange(1, values.size + 1) / total * 100, label=run.params.title)
        ax.axvline(SRV_TARGET_S, color="red", linestyle="--", label="30 s target")
        ax.set_xlabel(f"seconds from the DNO sending ({label})")
        ax.set_ylabel("% of SRVs")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle("SRV delivery and response times")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_outcomes(runs: Sequence[RegionRun], path: Path) -> Path:
    """Per option: share within 30 s, shed in time vs needed, feeders over rating (minutes)."""
    fig = _figure(14, 4.5)
    share_ax, shed_ax, over_ax = fig.subplots(1, 3)
    names = [r.params.option for r in runs]
    summaries = [summarise_rows(r.rows) for r in runs]
    x = np.arange(len(runs))
    share_ax.bar(x, [100 * (s["share_within_30s"] or 0.0) for s in summaries], color="tab:blue")
    share_ax.set_xticks(x, names)
    share_ax.set_ylim(0, 100)
    share_ax.set_ylabel("% of SRVs answered within 30 s")
    needed = [s["energy_needed_kwh"] for s in summaries]
    shed = [s["energy_shed_in_time_kwh"] for s in summaries]
    shed_ax.bar(x - 0.2, needed, width=0.4, label="needed (demand over rating)", color="tab:gray")
    shed_ax.bar(x + 0.2, shed, width=0.4, label="shed while over", color="tab:green")
    shed_ax.set_xticks(x, names)
    shed_ax.set_ylabel("kWh across the region")
    shed_ax.legend(fontsize=8)
    edges = [0, 0.5, 5, 15, 30, 60, 1e9]
    labels = ["<0.5", "0.5-5", "5-15", "15-30", "30-60", ">60"]
    width = 0.8 / max(1, len(runs))
    for k, run in enumerate(runs):
        minutes = np.array(
            [r["minutes_over_rating"] for r in run.rows if r["minutes_over_rating"] > 0]
        )
        counts, _ = np.histogram(minutes, bins=edges)
        over_ax.bar(
            np.arange(len(labels)) + k * width, counts, width=width, label=run.params.option
        )
    over_ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
    over_ax.set_xlabel("minutes over rating")
    over_ax.set_ylabel("feeders")
    over_ax.legend(fontsize=8)
    fig.suptitle("Within 30 s, shed in time, and feeders over their rating, per WAN option")
    fig.tight_layout()
    fig.savefig(path)
    return path


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def study_rows(summary: dict[str, Any]) -> list[list[object]]:
    rows = []
    for o in summary["options"].values():
        rows.append([
            o["title"], o["srv_count"],
            "-" if o["share_within_30s"] is None else f"{100 * o['share_within_30s']:.1f} %",
            o["response_s"]["p50"], o["response_s"]["p99"], o["srv_unanswered"],
            "-" if o["shed_in_time_share"] is None else f"{100 * o['shed_in_time_share']:.1f} %",
            f"{o['feeders_over_rating']} / {o['feeders']}", o["feeder_minutes_over_rating"],
            o["longest_over_rating_min"],
        ])  # fmt: skip
    return rows


STUDY_HEADERS = ("WAN", "SRVs", "within 30 s", "response p50 s", "p99 s", "unanswered",
                 "shed in time / needed", "feeders over rating", "feeder-minutes over",
                 "longest over (min)")  # fmt: skip


def write_study(runs: Sequence[RegionRun], out: Path, meta: dict[str, Any]) -> dict[str, Path]:
    """Write summary.json, feeders-OPTION.csv, the plots and report.html into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    region = runs[0].region
    summary = {
        "region": region.name,
        "description": region.description,
        "seed": region.seed,
        "feeders": region.feeders.count,
        "wan_region": region.wan.region,
        "dsp_source": region.dsp.source,
        **meta,
        "options": {run.params.option: option_summary(run) for run in runs},
    }
    for run in runs:
        name = f"feeders-{run.params.option}.csv"
        paths[name] = write_csv(run, out / name)
    paths["srv-times.png"] = plot_times(runs, out / "srv-times.png")
    paths["outcomes.png"] = plot_outcomes(runs, out / "outcomes.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    paths["summary.json"] = out / "summary.json"
    first = runs[0].params
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>gbhan study: {html.escape(region.name)}</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:1em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:3px 8px}}
img{{max-width:100%}}</style></head><body>
<h1>Licence-area curtailment study: {html.escape(region.name)}</h1>
<p>{html.escape(region.description)}</p>
<p>{region.feeders.count} feeders ({summary["options"][first.option]["premises"]} premises), seed
{region.seed}, {region.duration_s / 3600:.1f} h from {html.escape(region.feeder.start_utc.isoformat())};
DNO policy "{html.escape(region.feeder.dno.policy)}"; DSP: {html.escape(region.dsp.source)}.
Every SRV through one DSP and the {html.escape(region.wan.region)} CSP link (other users'
background {first.background_per_s:g} messages/s).</p>
{_table(STUDY_HEADERS, study_rows(summary))}
<h2>SRV times</h2>{_img(paths["srv-times.png"])}
<h2>Outcomes</h2>{_img(paths["outcomes.png"])}
<h2>WAN options</h2>
{_table(("option", "CSP capacity msg/s", "CSP latency s", "radio s", "lookahead s", "windows", "wall s"),
        [[o["title"], o["wan"]["capacity_per_s"] or "unlimited", o["wan"]["csp_latency_s"],
          o["wan"]["radio_latency_s"], o["wan"]["lookahead_s"], o["windows"], o["wall_s"]]
         for o in summary["options"].values()])}
<p>Per-feeder figures: {", ".join(html.escape(n) for n in paths if n.endswith(".csv"))}.</p>
</body></html>
"""  # fmt: skip
    (out / "report.html").write_text(page)
    paths["report.html"] = out / "report.html"
    return paths
