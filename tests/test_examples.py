"""The scripts in examples/ run as a reader would run them and print what they promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_every_example_is_tested():
    tested = {"decode_and_verify.py", "run_one_command.py", "run_scenario.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_decode_and_verify_proves_the_rtds_signature(tmp_path):
    done = run_example("decode_and_verify.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "message_code" in done.stdout
    assert done.stdout.rstrip().endswith("verified (signature verified; mac verified)")


def test_decode_and_verify_fails_a_tampered_message(tmp_path):
    raw = data.rtds() / "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    text = raw.read_text().strip()
    flipped = text[:-4] + ("0" if text[-4] != "0" else "1") + text[-3:]  # inside the signature
    (tmp_path / "tampered.HEX").write_text(flipped)
    done = run_example("decode_and_verify.py", str(tmp_path / "tampered.HEX"), cwd=tmp_path)
    assert done.returncode == 1
    assert "failed" in done.stdout.splitlines()[-1]


def test_run_one_command_curtails_the_switch(tmp_path):
    done = run_example("run_one_command.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.splitlines()[-1])
    assert (line["srv"], line["outcome"], line["switch"]["relay"]) == ("7.6", "executed", "open")
    assert line["response_verified"] is True


@pytest.mark.slow
def test_run_scenario_keeps_the_feeder_within_its_rating(tmp_path):
    done = run_example("run_scenario.py", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("[ok]") >= 4 and "FAILED" not in done.stdout
    assert (tmp_path / "out" / "report.html").is_file()
