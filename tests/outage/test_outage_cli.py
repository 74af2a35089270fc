"""`gbhan outage` as a user runs it: the table, the JSON object, the plot, the refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from outage_helpers import REPO, RUNNER, gbhan, png_size

KEYS = ("p50", "p80", "p95", "p99")


@pytest.mark.parametrize("region", ["north", "central-south"])
def test_json_object_has_the_promised_fields(region, tmp_path, capsys):
    plot = tmp_path / "cdf.png"
    argv = ["outage", "--homes", "30000", "--region", region, "--json", "--plot", str(plot)]
    assert gbhan(*argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["region"] == region and data["homes"] == 30000 and data["strategy"] == "current"
    for alert in ("poa_s", "pra_s"):
        assert tuple(data[alert]) == KEYS
        values = [v for v in data[alert].values() if v is not None]
        assert values == sorted(values) and all(v >= 0 for v in values)
    for share in ("poa_delivered", "pra_delivered"):
        assert 0.0 <= data[share] <= 1.0
    # a share never delivered is null, not a number
    if data["poa_delivered"] < 0.99:
        assert data["poa_s"]["p99"] is None
    assert data["plot"] == str(plot)
    width, height = png_size(plot)
    assert 600 <= width <= 3000 and 300 <= height <= 2000


def test_text_table_and_default_plot_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert (
        gbhan("outage", "--homes", "3000", "--region", "central-south", "--strategy", "ours") == 0
    )
    out = capsys.readouterr().out
    assert "| POA (from outage start) |" in out and "| PRA (from restoration) |" in out
    assert "DNO: POA within 5 min" in out and "SEC H3.14(g)" in out
    png_size(tmp_path / "gbhan-out" / "outage" / "cdf-central-south-ours.png")


def test_unknown_strategy_is_refused_with_the_known_ones(capsys):
    assert gbhan("outage", "--strategy", "magic", "--no-plot") == 2
    err = capsys.readouterr().err
    assert "unknown strategy 'magic'" in err and "option-b" in err


@pytest.mark.parametrize("argv", [["--homes", "0"], ["--homes", "many"], ["--region", "wales"],
                                  ["--outage-min", "-5"]])  # fmt: skip
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        gbhan("outage", *argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_compare_lists_every_strategy_and_draws_the_chosen(tmp_path, capsys):
    plot = tmp_path / "cmp.png"
    assert gbhan("outage", "compare", "--region", "north", "--homes", "3000",
                 "--plot", str(plot)) == 0  # fmt: skip
    out = capsys.readouterr().out
    for name in ("current", "option-a", "option-b", "summarised", "adaptive-dither", "ours"):
        assert f"| {name} |" in out
    png_size(plot)


def test_a_real_process_prints_one_json_object(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "outage", "--homes", "2000", "--json", "--no-plot"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["plot"] is None and data["homes"] == 2000
