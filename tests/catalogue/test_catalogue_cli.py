"""`gbhan dsp catalogue` as a user runs it (a subprocess, an in-process DSP on free ports):
the JSON names each template's outcome, codes and verification; --markdown writes the SRV
status list between the markers; a folder without templates is refused with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from emulator.backoffice.catalogue import STATUS_BEGIN, STATUS_END

ROOT = Path(__file__).resolve().parents[2]


def gbhan_dsp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.dsp_cmd", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_json_names_outcome_codes_and_verification(tmp_path):
    doc = tmp_path / "status.md"
    doc.write_text(f"# status\n{STATUS_BEGIN}\n{STATUS_END}\n")
    run = gbhan_dsp("dsp", "catalogue", "--only", "ECS52_", "--only", "8.2_READ",
                    "--only", "ECS39a_6.20.1_SINGLE", "--json", "--markdown", str(doc))  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    results = {r["file"]: r for r in out["results"]}
    firmware = results["ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"]
    assert (firmware["outcome"], firmware["codes"], firmware["verified"]) == (
        "answered", ["I99", "I0"], True)  # fmt: skip
    assert firmware["response"] and firmware["latency_s"] > 0
    inventory = results["8.2_READ_INVENTORY_REQUEST_DUIS.XML"]
    assert (inventory["codes"], inventory["verified"]) == (["I0"], None)
    assert results["ECS39a_6.20.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"]["role"] == "IS"
    assert out["summary"]["templates"] == 3 and out["summary"]["outcomes"]["answered"] == 3
    assert "[3/3]" in run.stderr  # the progress line
    text = doc.read_text()
    assert "| 11.2 | answered | 1/1 | I99>I0 |" in text and text.endswith(f"{STATUS_END}\n")


def test_a_folder_without_templates_is_refused(tmp_path):
    run = gbhan_dsp("dsp", "catalogue", "--catalogue", str(tmp_path))
    assert run.returncode == 2 and "no *.XML templates" in run.stderr
