"""`gbhan emulate [SCENARIO]`: the CLI prints what `emulator.scenario.run` returns (timeline,
summary, checks, files, the tshark line) and maps it to exit codes: 0 every check held, 1 a
check failed, 2 bad arguments or scenario, 3 the world cannot be built here."""

from __future__ import annotations

import re

import pytest

from emulator import data
from tools import cli

SHORT = """extends = "feeder-overload"
name = "cli-short"

[time]
duration_h = 0.5
"""


def emulate(argv: list[str]) -> int:
    return cli.main(["emulate", *argv])


def test_a_run_prints_timeline_summary_checks_and_files(tmp_path, capsys):
    path = tmp_path / "cli-short.toml"
    path.write_text(SHORT)
    out = tmp_path / "out"
    assert emulate([str(path), "--out", str(out), "--boards", "0"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0] == "16:00:00  scenario cli-short: feeder LV-0371-F1, 36 premises, rating 150 kW"
    blank = lines.index("")
    assert all(re.match(r"\d\d:\d\d:\d\d  ", line) for line in lines[:blank])
    assert lines[blank + 1].startswith("feeder LV-0371-F1: rating 150.0 kW, peak ")
    assert re.match(r"\d+ SRVs, response p50 ", lines[blank + 2])
    assert re.match(
        r"policy minimal: shed [\d.]+ kWh where [\d.]+ kWh was needed \(ratio (None|[\d.]+)\), "
        r"[\d.]+ min over rating; curtailment per customer max [\d.]+ min, mean [\d.]+ min; "
        r"(None|[\d.]+) SRVs per kWh shed; consent terms broken: 0$",
        lines[blank + 3],
    )
    checks = [line for line in lines[blank + 4 : -3] if not line.startswith("  [goal ")]
    assert len(checks) == 7 and all(line.startswith("  [ok] ") for line in checks)
    goals = [line for line in lines[blank + 4 : -3] if line.startswith("  [goal ")]
    assert goals and all(
        re.fullmatch(r"  \[goal (met|not met)\] .+ \(the floor here: (None|[\d.]+)\)", line)
        for line in goals
    ), goals
    assert "  [ok] customers' consent terms kept (max per event, excluded hours)" in checks
    names = ("summary.json", "interventions.json", "interventions.csv", "feeder-load.png",
             "shed-vs-needed.png", "report.html", "han.keys", "han.pcap")  # fmt: skip
    assert lines[-3] == "wrote " + ", ".join(str(out / name) for name in names)
    assert lines[-2] == (
        f"decrypt the capture (every household's HAN): mapfile -t K < "
        f'{out / "han.keys"}; tshark "${{K[@]}}" -r {out / "han.pcap"}'
    )
    assert re.fullmatch(r"wall \d+\.\d+ s", lines[-1])
    assert re.search(r"^\[100 %\] simulated 0\.5 h in ", printed.err, re.M)


def test_a_failed_check_exits_1_and_is_named(tmp_path, capsys):
    path = tmp_path / "tiny-rating.toml"
    path.write_text(SHORT.replace('name = "cli-short"', 'name = "tiny-rating"')
                    + "\n[feeder]\nrating_kw = 10.0\n")  # fmt: skip
    code = emulate([str(path), "--out", str(tmp_path / "out"), "--boards", "0", "--quiet"])
    printed = capsys.readouterr()
    assert code == 1
    assert "  [FAILED] within rating after first curtailment" in printed.out.splitlines()
    assert "simulated" not in printed.err  # --quiet: no progress


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-scenario"], "error: no scenario 'no-such-scenario'"),
        (["--boards", "-1"], "error: --boards must be 0 or more"),
        (["--boards", "99"], "error: --boards 99: this feeder has only "),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(tmp_path, capsys, argv, message):
    assert emulate([*argv, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().out.startswith(message)


def test_a_feeder_the_scenario_cannot_make_exits_2(tmp_path, capsys):
    path = tmp_path / "too-many-evs.toml"
    path.write_text('extends = "feeder-overload"\nname = "too-many-evs"\n\n[ev]\nshare = 1.5\n')
    assert emulate([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().out == (
        "error: scenario too-many-evs: ev.share must be within 0..1, not 1.5\n"
    )


def test_a_world_that_cannot_be_built_exits_3(tmp_path, capsys, monkeypatch):
    """A broken install: the package data is gone and no fallback folder has it either."""
    monkeypatch.setattr(data, "PACKAGE_DATA", tmp_path / "no-package-data")
    monkeypatch.setattr(data, "_BESIDE_CHECKOUT", tmp_path / "no-shared")
    monkeypatch.setenv("GBHAN_DATA", str(tmp_path / "no-data-here"))
    assert emulate(["--out", str(tmp_path / "out"), "--boards", "0", "--quiet"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("error: the real DSP + Premises path could not be built: ")
    assert str(tmp_path / "no-package-data") in out and "GBHAN_DATA" in out


def test_command_arguments_are_checked_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_:
        emulate(["command", "00FF", "--keystore", "nowhere", "--repeat", "0"])
    assert exit_.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        emulate(["command", "not hex", "--keystore", "nowhere"])
    assert exit_.value.code == 2
