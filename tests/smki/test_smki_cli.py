"""`gbhan smki ...` as a user runs it: populate with progress, extract, sync, refusals with
exit codes, and `serve` as a real process answering on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from smki_helpers import post

from tools import smki_cmd

REPO = Path(__file__).resolve().parents[2]
# Until tools/cli.py lists smki_cmd in GROUPS, the same parser is built here.
RUNNER = (
    "import argparse, sys\n"
    "from tools import smki_cmd\n"
    "parser = argparse.ArgumentParser(prog='gbhan')\n"
    "smki_cmd.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def gbhan(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gbhan")
    smki_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_populate_extract_sync_round_trip(tmp_path, capsys):
    db, out, copy = tmp_path / "r.db", tmp_path / "out", tmp_path / "copy.db"
    at = "2026-11-23T00:00:00+00:00"
    assert gbhan("smki", "populate", "--devices", "30", "--db", str(db), "--at", at) == 0
    captured = capsys.readouterr()
    assert "60 device certificates added" in captured.out
    assert "populate (certificates): 60/60 (100 %)" in captured.err
    assert gbhan("smki", "extract", "--full", "--out", str(out), "--db", str(db), "--at", at) == 0
    assert "SMKIKR_FULL_2026-11-23.xml.gz: sequence 1" in capsys.readouterr().out
    later = "2026-11-24T00:00:00+00:00"
    assert (
        gbhan("smki", "extract", "--daily", "--out", str(out), "--db", str(db), "--at", later) == 0
    )
    assert "SMKIKR_DELT_2026-11-24.xml.gz: sequence 2, 0 records" in capsys.readouterr().out
    assert gbhan("smki", "sync", "--from", str(out), "--db", str(copy)) == 0
    output = capsys.readouterr().out
    assert "restored from the full extract: 2 file(s)" in output
    assert "now at sequence 2" in output


def test_refusals_have_exit_code_and_message(tmp_path, capsys):
    db, out = tmp_path / "r.db", tmp_path / "out"
    at = "2026-11-23T00:00:00+00:00"
    assert gbhan("smki", "extract", "--daily", "--out", str(out), "--db", str(db), "--at", at) == 1
    assert "write a full extract first" in capsys.readouterr().err
    assert gbhan("smki", "sync", "--from", str(out), "--db", str(tmp_path / "c.db")) == 1
    assert "no manifest" in capsys.readouterr().err
    bad_party = ("--party", "not-an-eui")
    assert gbhan("smki", "extract", "--full", "--out", str(out), "--db", str(db), *bad_party) == 1
    assert "not an EUI-64" in capsys.readouterr().err
    assert gbhan("smki", "populate", "--devices", "0", "--db", str(db)) == 2


def test_serve_answers_as_a_real_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "smki", "serve", "--port", "0",
         "--db", str(tmp_path / "served.db"), "--at", "2026-11-23T00:00:00+00:00"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # port 0: the OS picks a free one (tests run side by side) and serve prints its URL
        for line in process.stderr:
            if b" serving on http://127.0.0.1:" in line:
                break
        else:
            pytest.fail(f"serve did not start (exit {process.wait(10)})")
        url = line.split(b" serving on ")[1].strip().decode() + "/services/certificatesearch"
        body = (
            b"<CertificateSearchRequest><CertificateSubjectAltName>00-DB-12-34-56-78-90-A0"
            b"</CertificateSubjectAltName></CertificateSearchRequest>"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                status, kind, payload = post(url, body)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"serve did not start: {process.stderr.read1().decode()}")
                time.sleep(0.2)
        assert status == 200 and kind.startswith("application/xml")
        results = etree.fromstring(payload).findall("Result")
        assert {r.findtext("CertificateUsage") for r in results} == {"DS", "KA"}
    finally:
        process.terminate()
        process.wait(timeout=10)
