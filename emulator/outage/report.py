"""The run as the user reads it: the percentile table, the asks met or not, and one JSON
object with fixed keys for scripts."""

from __future__ import annotations

from .calibration import fmt_s
from .fleet import Outcome
from .metrics import delivered, percentiles, verdicts
from .rules import PERCENTILES

_ASK_TEXT = {
    "dno_poa": "DNO: POA within 5 min of the outage start, ≥ 99.5 %",
    "dno_pra": "DNO: PRA within 1 min of restoration, ≥ 99.5 %",
    "sec_poa": "SEC H3.14(g): POA within 60 s after the 3 minutes",
    "sec_pra": "SEC H3.14(g): PRA within 60 s of restoration",
}


def to_json(outcome: Outcome, plot: str | None = None) -> dict:
    """`poa_s` and `pra_s` hold seconds (from the outage start, from restoration) by which
    50/80/95/99 % of homes had their alert; null where that share never arrives."""
    m = outcome.model
    return {
        "region": m.region,
        "homes": outcome.homes,
        "strategy": m.strategy,
        "title": m.title,
        "source": m.source,
        "outage_s": outcome.outage_s,
        "seed": outcome.seed,
        "poa_s": percentiles(outcome.poa_s),
        "pra_s": percentiles(outcome.pra_s),
        "poa_delivered": delivered(outcome.poa_s),
        "pra_delivered": delivered(outcome.pra_s),
        "asks": verdicts(outcome.poa_s, outcome.pra_s),
        "radio_frames": outcome.frames,
        "plot": plot,
    }


def text(outcome: Outcome) -> str:
    data = to_json(outcome)
    head = "| alert | " + " | ".join(f"{p} %" for p in PERCENTILES) + " | delivered |"
    lines = [
        f"{data['title']} — {outcome.homes:,} homes, outage {fmt_s(outcome.outage_s)}, "
        f"strategy {data['strategy']} ({data['source']})",
        "",
        head,
        "|---" * (len(PERCENTILES) + 2) + "|",
    ]
    for alert, origin in (("poa", "from outage start"), ("pra", "from restoration")):
        cells = " | ".join(fmt_s(v) for v in data[f"{alert}_s"].values())
        share = data[f"{alert}_delivered"] * 100
        lines.append(f"| {alert.upper()} ({origin}) | {cells} | {share:.2f} % |")
    lines.append("")
    for name, v in data["asks"].items():
        mark = "met" if v["met"] else "not met"
        lines.append(f"{_ASK_TEXT[name]}: {v['share'] * 100:.2f} % in time — {mark}")
    return "\n".join(lines)


def compare_table(outcomes: list[Outcome]) -> str:
    """One row per strategy: POA/PRA at 50 and 99 %, delivered, and each ask's share in time."""
    lines = [
        "| strategy | POA 50 % | POA 99 % | POA delivered | PRA 50 % | PRA 99 % | PRA delivered "
        "| DNO POA ≤ 5 min | DNO PRA ≤ 1 min | SEC POA ≤ 4 min | SEC PRA ≤ 1 min |",
        "|---" * 11 + "|",
    ]
    for o in outcomes:
        d = to_json(o)
        asks = " | ".join(
            f"{'**' if v['met'] else ''}{v['share'] * 100:.1f} %{'**' if v['met'] else ''}"
            for v in d["asks"].values()
        )
        lines.append(
            f"| {d['strategy']} | {fmt_s(d['poa_s']['p50'])} | {fmt_s(d['poa_s']['p99'])} "
            f"| {d['poa_delivered'] * 100:.2f} % | {fmt_s(d['pra_s']['p50'])} "
            f"| {fmt_s(d['pra_s']['p99'])} | {d['pra_delivered'] * 100:.2f} % | {asks} |"
        )
    return "\n".join(lines)
