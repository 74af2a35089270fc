"""`gbhan study region` as a user runs it: the table, the files it promises, the refusals."""

from __future__ import annotations

import csv
import json
import struct

from tools.cli import main


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_study_writes_summary_csv_plots_and_report(tmp_path, capsys):
    out = tmp_path / "study"
    code = main(["study", "region", "--feeders", "3", "--workers", "0", "--quiet",
                 "--options", "current,option-b", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "North, today" in printed and "North, DCC option B" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["feeders"] == 3 and list(summary["options"]) == ["current", "option-b"]
    today, b = summary["options"]["current"], summary["options"]["option-b"]
    assert today["wan"]["capacity_per_s"] == 12.0 and b["wan"]["capacity_per_s"] == 400.0
    for o in (today, b):
        assert o["srv_count"] > 0 and 0.0 <= o["share_within_30s"] <= 1.0
        assert o["response_s"]["p50"] <= o["response_s"]["p99"] <= o["response_s"]["max"]
        assert o["energy_shed_in_time_kwh"] <= o["energy_needed_kwh"] + 1e-9
    # option B's CSP answers in 2 s instead of 5 s each way: SRVs come back sooner
    assert b["response_s"]["p50"] < today["response_s"]["p50"] - 4.0
    with (out / "feeders-current.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["feeder"] for r in rows] == ["LV-00000", "LV-00001", "LV-00002"]
    assert sum(int(r["srv_count"]) for r in rows) == today["srv_count"]
    for name in ("srv-times.png", "outcomes.png"):
        width, height = png_size(out / name)
        assert width >= 1000 and height >= 400
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "within 30 s" in page


def test_unknown_option_and_scenario_are_refused(tmp_path, capsys):
    assert main(["study", "region", "--options", "option-z", "--out", str(tmp_path)]) == 2
    assert "option-z" in capsys.readouterr().out
    assert main(["study", "region", "no-such-region", "--out", str(tmp_path)]) == 2
    assert "tea-time-north" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # nothing written for a refused run
