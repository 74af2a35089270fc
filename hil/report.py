"""The HIL run's HTML report: per-test results, the DUT's event log on failures, and the
latency figures with a histogram (inline SVG, no plotting library needed).

Input is the plugin's results document (also written as JSON with `--hil-json`):
{"meta": {...}, "tests": [{"nodeid", "outcome", "duration", "message", "summary", "sections",
"properties": [[name, value], ...]}]}.
"""

from __future__ import annotations

import html
import json
import math
from enum import StrEnum
from pathlib import Path

from .latency import METRICS, PROPERTY_PREFIX, summary


class Outcome(StrEnum):
    """A test's outcome in the results document: pytest's three, and `error` for a failed
    setup or teardown (as pytest's own summary counts it)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


FAILING = frozenset({Outcome.FAILED, Outcome.ERROR})
_COLOURS = {
    Outcome.PASSED: "#1a7f37",
    Outcome.FAILED: "#cf222e",
    Outcome.ERROR: "#cf222e",
    Outcome.SKIPPED: "#9a6700",
}


def latency_values(results: dict, metric: str) -> list[float]:
    out = []
    for test in results["tests"]:
        for name, value in test.get("properties", []):
            if name == PROPERTY_PREFIX + metric:
                out.append(float(value))
    return out


def histogram_svg(values: list[float], unit: str, width: int = 640, height: int = 220) -> str:
    """Log-spaced bins (latencies span decades); bars, axis ticks and counts."""
    if not values:
        return "<p>No samples.</p>"
    lo = max(min(values), 1e-3)
    hi = max(max(values), lo * 1.0001)
    bins = 24
    edges = [lo * (hi / lo) ** (i / bins) for i in range(bins + 1)]
    counts = [0] * bins
    for v in values:
        idx = 0 if v <= lo else min(bins - 1, int(bins * math.log(v / lo) / math.log(hi / lo)))
        counts[idx] += 1
    left, bottom, top = 50, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts)
    bar_w = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="latency histogram ({unit})">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="#0969da"><title>{edges[i]:.4g}-{edges[i + 1]:.4g} {unit}: '
            f"{count}</title></rect>"
        )
    for i in range(0, bins + 1, 6):
        x = left + i * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
            f"{edges[i]:.3g}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 1}" font-size="11" '
        f'text-anchor="middle">{html.escape(unit)} (log scale)</text></svg>'
    )
    return "".join(parts)


def render(results: dict) -> str:
    meta = results.get("meta", {})
    tests = results["tests"]
    counts: dict[str, int] = {}
    for test in tests:
        counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
    verdict = "FAILED" if any(counts.get(o) for o in FAILING) else "PASSED"
    esc = html.escape
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>gbhan HIL report: {esc(str(meta.get('role', '')))} {verdict}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}"
        ".outcome{font-weight:bold}</style></head><body>",
        f"<h1>gbhan HIL report — <span id='verdict'>{verdict}</span></h1>",
        "<table id='meta'>",
    ]
    for key, value in meta.items():
        out.append(f"<tr><th>{esc(str(key))}</th><td>{esc(str(value))}</td></tr>")
    summary_line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    out.append(f"<tr><th>results</th><td id='summary'>{esc(summary_line)}</td></tr></table>")

    out.append(
        "<h2>Command-to-relay latency</h2><table id='latency'><tr><th>measurement</th>"
        "<th>n</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>"
    )
    for metric in METRICS:
        stats = summary(latency_values(results, metric))
        if not stats["n"]:
            continue
        cells = "".join(f"<td>{stats[k]:.1f}</td>" for k in ("p50", "p90", "p99", "max"))
        out.append(f"<tr><td>{metric}</td><td>{stats['n']}</td>{cells}</tr>")
    out.append("</table>")
    out.append(
        "<p>From the command frame written to the board's radio UART. Measurements, "
        "not assertions; the suite asserts only the SEC's 30 s ceiling.</p>"
    )
    out.append("<h3>command_to_output_us</h3>")
    out.append(histogram_svg(latency_values(results, "command_to_output_us"), "µs"))

    out.append(
        "<h2>Tests</h2><table id='tests'><tr><th>test</th><th>outcome</th>"
        "<th>duration (s)</th><th>measurements</th></tr>"
    )
    for test in tests:
        colour = _COLOURS.get(test["outcome"], "#333")
        props = "<br>".join(f"{esc(str(k))} = {esc(str(v))}" for k, v in test.get("properties", []))
        out.append(
            f"<tr class='test {esc(test['outcome'])}'><td>{esc(test['nodeid'])}</td>"
            f"<td class='outcome' style='color:{colour}'>{esc(test['outcome'])}</td>"
            f"<td>{test['duration']:.3f}</td><td>{props}</td></tr>"
        )
    out.append("</table>")

    failures = [t for t in tests if t["outcome"] in FAILING]
    if failures:
        out.append("<h2>Failures</h2>")
    for test in failures:
        out.append(f"<div class='failure'><h3>{esc(test['nodeid'])}</h3>")
        out.append(f"<p class='summary'><b>{esc(test.get('summary', ''))}</b></p>")
        out.append(f"<pre class='message'>{esc(test.get('message', ''))}</pre>")
        for title, text in test.get("sections", []):
            out.append(f"<h4>{esc(title)}</h4><pre class='section'>{esc(text)}</pre>")
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(path: Path, results: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results), encoding="utf-8")


def write_json(path: Path, results: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
