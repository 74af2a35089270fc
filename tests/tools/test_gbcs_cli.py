"""The `gbhan gbcs` commands as a manufacturer runs them: a real subprocess, real files."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import data
from gbcs import gbt
from gbcs.message import decode
from tools import gbcs_cmd

REPO = Path(__file__).resolve().parents[2]
VECTORS = data.rtds()
KEYSTORE = data.rtds_keystore()
DEACTIVATE = VECTORS / "7.6_ECS47Deactivate"
SUMMARY = re.compile(
    r"^checked (\d+) files: (\d+) decoded, (\d+) re-encoded identical, (\d+) signatures "
    r"verified, (\d+) MACs verified, (\d+) decrypted, (\d+) unverifiable \(no key\), (\d+) failed$"
)


def gbhan(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_sweeps_all_of_rtds_and_passes_but_for_what_no_key_verifies():
    run = gbhan("gbcs", "check", str(VECTORS), "--keystore", str(KEYSTORE))
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    # strict: the device-to-device PCS02 MACs need a device's private key, held nowhere
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "NA_PCS02/PCS02_NA_SUCCESS_COMMAND_GBCS.HEX",
        "NA_PCS02/PCS02_NA_SUCCESS_RESPONSE_GBCS.HEX",
    ]
    assert all("mac-unverifiable at byte" in line for line in lines[:-1])
    assert SUMMARY.match(lines[-1]).group(8) == "2"


def test_check_allow_unverifiable_sweeps_all_of_rtds_and_passes():
    run = gbhan("gbcs", "check", str(VECTORS), "--keystore", str(KEYSTORE), "--allow-unverifiable")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert sum("allowed: mac-unverifiable" in line for line in lines) == 2
    last = lines[-1]
    match = SUMMARY.match(last)
    assert match, last
    files, decoded, reencoded, signatures, macs, decrypted, unverifiable, failed = map(
        int, match.groups()
    )
    assert files == decoded == reencoded == 1103
    assert failed == 0
    assert signatures > 0 and macs > 0 and decrypted > 0
    assert unverifiable >= 1  # NA_PCS02: device-to-device, no key for it anywhere


def test_check_reports_a_corrupted_file_and_fails(tmp_path):
    good = (DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX").read_text().strip()
    # flip one bit inside the signature (byte 0x60)
    data = bytearray.fromhex(good)
    data[0x60] ^= 0x01
    (tmp_path / "bad_COMMAND_GBCS.HEX").write_text(data.hex().upper())
    (tmp_path / "good_COMMAND_GBCS.HEX").write_text(good)
    run = gbhan("gbcs", "check", str(tmp_path), "--keystore", str(KEYSTORE), "--at", "2020-01-01")
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert any(line.startswith("bad_COMMAND_GBCS.HEX: signature-invalid at byte") for line in lines)
    assert not any(line.startswith("good_") for line in lines[:-1])
    assert SUMMARY.match(lines[-1]).group(8) == "1"


def test_check_fails_what_it_cannot_verify_unless_allowed(tmp_path):
    run = gbhan("gbcs", "check", str(DEACTIVATE))  # no keystore at all
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert any("signature-unverifiable" in line for line in lines)
    match = SUMMARY.match(lines[-1])
    assert match.group(4) == "0" and match.group(5) == "0"  # nothing claimed verified
    relaxed = gbhan("gbcs", "check", str(DEACTIVATE), "--allow-unverifiable")
    assert relaxed.returncode == 0, relaxed.stdout


def test_check_says_expired_at_a_late_clock_and_allow_does_not_relax_it():
    run = gbhan("gbcs", "check", str(DEACTIVATE), "--keystore", str(KEYSTORE),
                "--at", "2026-03-01", "--allow-unverifiable")  # fmt: skip
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert any("certificate-expired" in line and "expired 2025-10-29" in line for line in lines)
    assert not any("missing" in line for line in lines)


def test_check_takes_the_acb_from_a_flag(tmp_path):
    """A keystore holding the ACB's KA key as a bare public key (no certificate, so no role):
    the ACB is unknown until --acb names it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    keys = tmp_path / "keys"
    keys.mkdir()
    for path in KEYSTORE.iterdir():
        if path.name in ("90b3d51f30000002-ka.pem", "90b3d51f30000002-ds.pem"):
            continue
        (keys / path.name).write_bytes(path.read_bytes())
    certificate = x509.load_pem_x509_certificate(
        (KEYSTORE / "90b3d51f30000002-ka.pem").read_bytes()
    )
    (keys / "90b3d51f30000002-ka.pem").write_bytes(
        certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    read = VECTORS / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"
    run = gbhan("gbcs", "check", str(read), "--keystore", str(keys))
    assert run.returncode == 1
    assert "mac-unverifiable" in run.stdout and "Access Control Broker" in run.stdout
    run = gbhan("gbcs", "check", str(read), "--keystore", str(keys), "--acb", "90B3D51F30000002")
    assert run.returncode == 0, run.stdout
    assert SUMMARY.match(run.stdout.strip().splitlines()[-1]).group(5) == "1"  # MAC verified


def test_decode_json_shows_every_layer():
    path = DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    run = gbhan("gbcs", "decode", str(path), "--keystore", str(KEYSTORE), "--json")
    assert run.returncode == 0, run.stderr
    tree = json.loads(run.stdout)
    assert tree["use_case"]["name"] == "ECS47"
    assert tree["header"]["transaction_id"]["counter"] == 1001
    assert tree["payload_kind"] == "dlms-access-request"
    assert tree["payload"]["data"][0] == {"type": "long-unsigned", "value": 60}
    assert tree["security"]["signature"]["status"] == "verified"


def test_decode_text_from_hex_on_the_command_line():
    hex_text = (DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_RESPONSE_GBCS.HEX").read_text()
    run = gbhan("gbcs", "decode", hex_text.strip())
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ECS47 (0x0055)")
    assert "response" in run.stdout.splitlines()[0]


def test_decode_names_layer_and_offset_of_bad_input():
    run = gbhan("gbcs", "decode", "DF0901000000")
    assert run.returncode == 1
    assert "general-signing at byte" in run.stderr


@pytest.mark.parametrize("signer", ["90b3d51f30010000", "90b3d51f30020000"])
def test_sign_then_verify(tmp_path, signer):
    """Sign a pre-command (as a Supplier, and as the Network Operator SECMP0046 adds)."""
    out = tmp_path / "signed.hex"
    pre = DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX"
    key = KEYSTORE / f"{signer}-ds.key"
    precommand = bytearray.fromhex(pre.read_text().strip())
    precommand[0x0C : 0x0C + 8] = bytes.fromhex(signer)  # business originator = the signer
    src = tmp_path / "pre.hex"
    src.write_text(precommand.hex())
    run = gbhan("gbcs", "sign", str(src), "--key", str(key), "--out", str(out))
    assert run.returncode == 0, run.stderr
    run = gbhan("gbcs", "verify", str(out), "--keystore", str(KEYSTORE), "--at", "2020-01-01")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "signature verified" in run.stdout


def test_decode_shows_decrypted_payloads_structured():
    """Primer 5.3's GCS13a example: the decrypted ZCL Read Attributes Response."""
    path = VECTORS / "4.1.1_GCS13a" / "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX"
    run = gbhan("gbcs", "decode", str(path), "--keystore", str(KEYSTORE), "--json")
    assert run.returncode == 0, run.stderr
    (decrypted,) = json.loads(run.stdout)["decrypted"]
    records = {r["attribute_id"]["code"]: r["value"] for r in decrypted["decoded"]["records"]}
    assert records == {0x0302: 1000, 0x0301: 1, 0x0300: 1, 0x0000: 12345}


def test_decode_shows_decrypted_dlms_as_axdr():
    path = next((VECTORS / "4.1.1_ECS17b").glob("*SUCCESS_RESPONSE*"))
    run = gbhan("gbcs", "decode", str(path), "--keystore", str(KEYSTORE), "--json")
    assert run.returncode == 0, run.stderr
    decrypted = json.loads(run.stdout)["decrypted"]
    assert decrypted and all(d["decoded"]["type"] for d in decrypted)


# --- sources: any number, any form; JSON Lines --------------------------------------------
LABELS = VECTORS / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX"


def test_decode_takes_hex_longer_than_a_file_name_and_base64():
    import base64

    text = LABELS.read_text().strip()
    assert len(text) > 255  # died with OSError: File name too long
    as_base64 = base64.b64encode(bytes.fromhex(text)).decode()
    run = gbhan("gbcs", "decode", text, as_base64, "--json")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["source"] for line in lines] == ["arg#1", "arg#2"]
    assert lines[0]["use_case"] == lines[1]["use_case"]
    assert lines[0]["use_case"]["name"] == "ECS61a"


def test_decode_text_names_each_message_and_fails_on_a_bad_one(tmp_path):
    bad = tmp_path / "bad.hex"
    bad.write_text("DF0901")
    run = gbhan("gbcs", "decode", str(LABELS), str(bad))
    assert run.returncode == 1
    assert f"== {LABELS}" in run.stdout
    assert f"{bad}: decode failed: general-signing at byte" in run.stderr


def test_check_json_lines_with_sources_and_totals_last(tmp_path):
    good = DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    data = bytearray.fromhex(good.read_text().strip())
    data[0x60] ^= 0x01  # inside the signature
    run = gbhan("gbcs", "check", str(DEACTIVATE), data.hex(), "--keystore", str(KEYSTORE),
                "--json")  # fmt: skip
    assert run.returncode == 1
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    *messages, last = lines
    assert set(last) == {"totals"}
    assert last["totals"]["files"] == len(messages) == 7
    # the MAC covers the signature, so both fail
    rules = {"signature-invalid": 1, "mac-invalid": 1}
    assert last["totals"]["failed"] == 1 and last["totals"]["rules"] == rules
    failed = [m for m in messages if not m["passed"]]
    assert [m["source"] for m in failed] == ["arg#2"]
    signature, mac = failed[0]["verdicts"]
    assert signature["rule"] == "signature-invalid"
    assert signature["offset"] == len(data) - 12 - 64 and mac["offset"] == len(data) - 12
    assert all(m["source"].startswith("ECS47Deactivate_") for m in messages[:6])
    assert {m["use_case"] for m in messages} == {"ECS47"}
    assert {m["message_code"] for m in messages} == {"0x0055"}


def test_check_reads_stdin_one_message_a_line():
    lines = [p.read_text().strip() for p in sorted(DEACTIVATE.glob("*.HEX"))]
    run = subprocess.run(
        [sys.executable, "-m", "tools.cli", "gbcs", "check", "-", "--keystore", str(KEYSTORE)],
        cwd=REPO,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert SUMMARY.match(run.stdout.strip().splitlines()[-1]).group(1) == str(len(lines))


def test_verify_json_lines_for_several_sources():
    run = gbhan("gbcs", "verify", str(LABELS), str(DEACTIVATE), "--keystore", str(KEYSTORE),
                "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == 7 and lines[0]["source"] == str(LABELS)
    assert all(line["security"]["outcome"] in ("verified", "not-applicable") for line in lines)


def test_a_source_that_is_nothing_exits_2_before_any_output():
    run = gbhan("gbcs", "check", str(LABELS), "no/such/file.hex")
    assert run.returncode == 2 and run.stdout == ""
    assert "source 2 ('no/such/file.hex') is neither" in run.stderr


def test_a_keystore_that_is_not_there_exits_2():
    run = gbhan("gbcs", "check", str(LABELS), "--keystore", "no/such/keys")
    assert run.returncode == 2 and run.stdout == ""
    assert "gbhan: keystore:" in run.stderr and "no/such/keys" in run.stderr


# --- match --------------------------------------------------------------------------------
def test_match_a_response_to_its_command_and_not_to_another():
    command = LABELS.with_name(LABELS.name.replace("_RESPONSE_", "_COMMAND_"))
    run = gbhan("gbcs", "match", str(command), str(LABELS), "--keystore", str(KEYSTORE))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "matched: the response answers the command"
    other = DEACTIVATE / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    run = gbhan("gbcs", "match", str(other), LABELS.read_text().strip(), "--keystore",
                str(KEYSTORE), "--json")  # fmt: skip
    assert run.returncode == 1
    result = json.loads(run.stdout)
    assert result["matched"] is False
    assert [v["rule"] for v in result["pairing"]] == ["use-case", "counter", "invoke-id"]
    assert all(isinstance(v["offset"], int) for v in result["pairing"])


# --- gbhan gbcs gbt split | join -----------------------------------------------------------
LARGEST = sorted(VECTORS.glob("*/*.HEX"), key=lambda p: p.stat().st_size)[-1]


def test_gbt_split_to_a_folder_and_join_gives_the_message_back(tmp_path):
    out = tmp_path / "segments"
    run = gbhan("gbcs", "gbt", "split", str(LARGEST), "--out", str(out))
    assert run.returncode == 0, run.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"segment-0{n}.hex" for n in range(1, 5)]  # 3,986 bytes
    assert all(len(bytes.fromhex(f.read_text())) <= 1149 for f in files)
    joined = tmp_path / "joined.hex"
    run = gbhan("gbcs", "gbt", "join", str(out), "--out", str(joined))
    assert run.returncode == 0, run.stderr
    assert joined.read_text() == LARGEST.read_text().strip()


def test_gbt_join_takes_segments_in_any_order_from_stdin():
    run = gbhan("gbcs", "gbt", "split", str(LARGEST), "--block-size", "100", "--streaming")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split()
    assert len(lines) == 40
    joined = subprocess.run(
        [sys.executable, "-m", "tools.cli", "gbcs", "gbt", "join", "-"],
        cwd=REPO,
        input="\n".join(reversed(lines)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.strip() == LARGEST.read_text().strip()


def test_gbt_split_refuses_more_than_63_segments():
    run = gbhan("gbcs", "gbt", "split", str(LARGEST), "--block-size", "63")
    assert run.returncode == 1
    assert run.stdout == ""
    assert "need 64 segments, more than the 63 allowed" in run.stderr


def test_gbt_join_names_missing_blocks_and_refuses_a_64th(tmp_path):
    run = gbhan("gbcs", "gbt", "split", str(LARGEST), "--block-size", "100", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    (tmp_path / "segment-02.hex").unlink()
    (tmp_path / "segment-05.hex").unlink()
    run = gbhan("gbcs", "gbt", "join", str(tmp_path))
    assert run.returncode == 1
    assert "missing block(s) 2, 5 of 40" in run.stderr
    # 64 segments, cut by the library without the limit, as a non-conforming sender would
    message = bytes.fromhex(LARGEST.read_text().strip())
    decoded = decode(message)
    segments = gbt.segment(
        message[:640],
        originator=decoded.originator,
        recipient=decoded.target,
        cra=decoded.cra_flag,
        counter=decoded.counter,
        message_code=decoded.message_code,
        block_size=10,
    )
    assert len(segments) == 64
    many = tmp_path / "many.bin"
    many.write_bytes(b"".join(segments))  # back to back, binary, as captured
    run = gbhan("gbcs", "gbt", "join", str(many))
    assert run.returncode == 1
    assert "block 64 exceeds the 63-segment limit" in run.stderr


@pytest.mark.parametrize("output", [(), ("--json",)], ids=["text", "json"])
def test_check_prints_the_same_with_any_number_of_workers(output):
    """-j/--jobs changes where messages are checked, never what is printed or the exit."""
    runs = [
        gbhan("gbcs", "check", str(VECTORS), "--keystore", str(KEYSTORE), "-j", jobs, *output)
        for jobs in ("1", "2", "3")
    ]
    assert [run.returncode for run in runs] == [1, 1, 1]  # the two PCS02 messages
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout
    assert len(runs[0].stdout.splitlines()) == (1103 + 1 if output else 3)


def test_check_refuses_zero_jobs():
    run = gbhan("gbcs", "check", str(DEACTIVATE), "-j", "0")
    assert run.returncode == 2 and "at least 1 job" in run.stderr


@pytest.mark.parametrize(
    ("cores", "busy", "jobs"), [(2, 0, 2), (2, 1, 1), (2, 8, 1), (8, 3, 5), (1, 0, 1)]
)
def test_default_jobs_are_the_cores_not_already_busy(monkeypatch, cores, busy, jobs):
    monkeypatch.setattr(gbcs_cmd, "_cores", lambda: cores)
    monkeypatch.setattr(gbcs_cmd, "_busy_now", lambda: busy)
    assert gbcs_cmd.idle_cores() == jobs


@pytest.mark.parametrize(
    ("looks", "verifier"), [((0, 1), True), ((1, 1), False)], ids=["passing", "working"]
)
def test_a_check_takes_its_first_look_at_the_cores_as_its_parser_is_built(
    monkeypatch, capsys, looks, verifier
):
    """Two looks at the running tasks, the first as the check's parser is built, the
    second as the check starts (it forks first thing): a task seen at only one is passing,
    so two idle cores give the two-process check (gbcs.verifier), one seen at both does not."""
    import argparse

    from tools import cli

    monkeypatch.setattr(gbcs_cmd, "_busy_now", lambda: 7)
    gbcs_cmd.register(argparse.ArgumentParser().add_subparsers(), only="check")
    assert gbcs_cmd._EARLIER_LOOKS == [7]  # taken as the parser is built
    gbcs_cmd._EARLIER_LOOKS.clear()
    seen = iter(looks)
    monkeypatch.setattr(gbcs_cmd, "_busy_now", lambda: next(seen))
    monkeypatch.setattr(gbcs_cmd, "_cores", lambda: 2)
    started = []
    monkeypatch.setattr(gbcs_cmd.Verifier, "start", lambda *args: started.append(1))  # None
    status = cli.main(["gbcs", "check", str(DEACTIVATE), "--keystore", str(KEYSTORE)])
    assert status == 0 and "0 failed" in capsys.readouterr().out
    assert bool(started) is verifier and next(seen, "both read") == "both read"


def test_busy_now_is_the_running_tasks_besides_this_one(monkeypatch, tmp_path):
    """The kernel's runnable count (/proc/loadavg's fourth field), not the 1-minute average:
    a minute after heavy work the average still says busy while nothing runs."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("7.90 3.10 1.20 3/412 99\n")  # busy a minute ago; two others run now
    real_open = open
    monkeypatch.setattr(
        gbcs_cmd, "open", lambda path, mode="r": real_open(loadavg, mode), raising=False
    )
    assert gbcs_cmd._busy_now() == 2
    monkeypatch.setattr(gbcs_cmd, "_cores", lambda: 4)
    assert gbcs_cmd.idle_cores() == 2


@pytest.mark.parametrize(
    ("earlier", "now", "jobs"), [(1, 0, 2), (0, 1, 2), (1, 1, 1), (None, 1, 1)]
)
def test_a_task_counts_as_busy_only_when_seen_at_both_looks(monkeypatch, earlier, now, jobs):
    """A task seen once (the process that started gbhan, a kernel thread) is passing: on
    two cores it still gets a worker; one running at both looks takes a core."""
    monkeypatch.setattr(gbcs_cmd, "_cores", lambda: 2)
    monkeypatch.setattr(gbcs_cmd, "_busy_now", lambda: now)
    assert gbcs_cmd.idle_cores(earlier) == jobs


def test_busy_now_falls_back_to_the_load_average(monkeypatch):
    def missing(*_args, **_kwargs):
        raise FileNotFoundError("/proc/loadavg")

    monkeypatch.setattr(gbcs_cmd, "open", missing, raising=False)
    monkeypatch.setattr(gbcs_cmd.os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert gbcs_cmd._busy_now() == 1.0


def test_default_jobs_without_a_load_average_are_the_cores(monkeypatch):
    def unavailable(*_args, **_kwargs):
        raise OSError("no load average")

    monkeypatch.setattr(gbcs_cmd, "_cores", lambda: 4)
    monkeypatch.setattr(gbcs_cmd, "open", unavailable, raising=False)
    monkeypatch.setattr(gbcs_cmd.os, "getloadavg", unavailable)
    assert gbcs_cmd.idle_cores() == 4
