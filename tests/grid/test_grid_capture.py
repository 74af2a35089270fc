"""The run's han.pcap opens in tshark with the keys the run writes beside it (han.keys): every
household's HAN is in it, nothing is malformed once keyed, and the ZCL commands the meters sent
their switches are the SRVs the DNO's log says were executed. Needs tshark (CI installs it):
the test fails, not skips, without it."""

import csv
import shutil
import subprocess

import pytest

from emulator import scenario
from emulator.scenario import engine, spec
from emulator.scenario.world import esme_eui

SHORT = """extends = "feeder-overload"
name = "capture-check"

[time]
duration_h = 2.0
"""
LCE, CANCEL_ALL = 0x00, 0x02  # DRLC server-to-client command ids


def tshark(out, *args) -> list[list[str]]:
    exe = shutil.which("tshark")
    assert exe, "tshark is not installed (CI installs it)"
    keys = (out / "han.keys").read_text().splitlines()
    text = subprocess.run([exe, *keys, "-r", str(out / "han.pcap"), *args], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    return [line.split("\t") for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("capture")
    path = tmp / "capture-check.toml"
    path.write_text(SHORT)
    outcome = scenario.run(spec.load(path), out=tmp / "out", boards=0)
    population = engine.build_population(spec.load(path))
    return outcome, tmp / "out", population


def test_the_run_writes_the_keys_and_names_the_tshark_command(run):
    outcome, out, _ = run
    assert outcome.ok, outcome.failed
    keys = (out / "han.keys").read_text().splitlines()
    assert keys[0::2] == ["-o"] * (len(keys) // 2) and len(keys) % 2 == 0
    assert any("P001 HAN network key" in k for k in keys)
    assert outcome.paths["han.keys"] == out / "han.keys"
    command = outcome.tshark_command
    assert str(out / "han.keys") in command and str(out / "han.pcap") in command


def test_the_capture_holds_every_household_and_decrypts_cleanly(run):
    _, out, population = run
    problems = tshark(out, "-Y", '_ws.malformed || _ws.expert.severity >= "warning"',
                      "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")  # fmt: skip
    assert problems == []
    # without the keys the same filter flags frames: the check above proves decryption
    exe = shutil.which("tshark")
    unkeyed = subprocess.run([exe, "-r", str(out / "han.pcap"), "-Y", "_ws.expert"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert unkeyed.strip()
    annces = tshark(out, "-Y", "zbee_aps.zdp_cluster == 0x0013", "-T", "fields",
                    "-e", "zbee_zdp.ext_addr")  # fmt: skip
    announced = {row[0] for row in annces}
    with_switch = [p for p in population.premises if p.switches]
    esmes = {":".join(f"{b:02x}" for b in esme_eui(p.index + 1)) for p in with_switch}
    assert esmes <= announced  # every household with a switch, one pcap


def test_the_switch_commands_in_the_capture_are_the_srvs_the_run_made(run):
    _, out, population = run
    by_esme = {":".join(f"{b:02x}" for b in esme_eui(p.index + 1)): p.premises_id
               for p in population.premises}  # fmt: skip
    frames = tshark(out, "-Y", "zbee_zcl_se.drlc.cmd.srv_tx.id", "-T", "fields",
                    "-e", "zbee.sec.src64", "-e", "zbee_zcl_se.drlc.cmd.srv_tx.id",
                    "-e", "zbee_zcl_se.drlc.duration_in_minutes",
                    "-e", "zbee_zcl_se.drlc.duty_cycle")  # fmt: skip
    seen: dict[str, list[tuple]] = {}
    for src, command, minutes, duty in frames:
        premises = by_esme[src.split(",")[0]]
        if int(command, 0) == LCE:
            seen.setdefault(premises, []).append(("7.6", int(minutes), int(duty, 0)))
        elif int(command, 0) == CANCEL_ALL:
            seen.setdefault(premises, []).append(("7.8",))
    with (out / "interventions.csv").open() as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["sent_at_s"]))
    made: dict[str, list[tuple]] = {}
    for row in rows:
        if row["status"] != "executed" or row["srv"] not in ("7.6", "7.8"):
            continue
        # HCALCS: duty 0 %; 7.6's duration is the DNO's curtail_duration_s in minutes
        want = ("7.6", 30, 0) if row["srv"] == "7.6" else ("7.8",)
        made.setdefault(row["premises"], []).append(want)
    assert any(v[0] == "7.6" for vs in made.values() for v in vs)
    assert any(v[0] == "7.8" for vs in made.values() for v in vs)
    assert seen == made
