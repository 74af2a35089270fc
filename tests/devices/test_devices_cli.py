"""`gbhan emulate command` end to end: replay via --repeat 2, the household picked by the
command's target, and a capture that tshark dissects with no malformed frame and shows the
ZCL commands to the switch."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from devices_helpers import RTDS, RTDS_KEYSTORE, expected_response

from gbcs import decode
from gbcs.render import plain
from tools import cli

DEACTIVATE = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"


def gbhan_emulate(argv: list[str]) -> int:
    return cli.main(["emulate", *argv])


@pytest.mark.parametrize("switch", ["model", "board"])
def test_repeat_two_is_a_replay(capsys, switch):
    argv = ["command", str(DEACTIVATE), "--keystore", str(RTDS_KEYSTORE), "--repeat", "2"]
    assert gbhan_emulate([*argv, "--switch", switch]) == 1  # 0 only if every run executed
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["outcome"] == "executed"
    assert first["switch"] == {"relay": "open", "level": 0}
    assert first["response_verified"] is True
    assert second["outcome"] == "rejected:replay"
    assert second["response"] is None
    assert second["response_verified"] is False  # true | false, never null


ECS46D = "6.14.3_ECS46d/ECS46d_6.14.3_{}_APC_OUTPUT_SUCCESS_COMMAND_GBCS.HEX"


@pytest.mark.parametrize("switch", ["model", "board"])
@pytest.mark.parametrize("kind", ["FUTURE_DATED", "CANCELLATION"])
def test_the_household_is_the_one_the_command_targets(capsys, switch, kind):
    """RTDS's ECS46d to ...A6 (its other ESME) runs on that household: executed, answered by
    ...A6 with RTDS's header and payload."""
    name = ECS46D.format(kind)
    argv = ["command", str(RTDS / name), "--keystore", str(RTDS_KEYSTORE),
            "--at", "2015-01-01T00:00:00", "--switch", switch]  # fmt: skip
    assert gbhan_emulate(argv) == 0
    (line,) = (json.loads(out) for out in capsys.readouterr().out.splitlines())
    assert line["outcome"] == "executed" and line["response_verified"] is True
    got, want = decode(bytes.fromhex(line["response"])), decode(expected_response(name))
    assert got.originator == bytes.fromhex("00DB1234567890A6")
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)


def test_an_unknown_scenario_is_refused(capsys):
    assert gbhan_emulate(["no-such-scenario", "--boards", "0"]) == 2
    assert "no-such-scenario" in capsys.readouterr().out


def tshark_lines(pcap, keys, *extra) -> list[str]:
    tshark = shutil.which("tshark")
    assert tshark, "tshark is not installed (CI installs it)"
    options = keys.read_text().splitlines()
    out = subprocess.run(
        [tshark, *options, "-r", str(pcap), *extra], check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_capture_dissects_cleanly_and_shows_the_switch_commands(tmp_path, capsys):
    pcap = tmp_path / "run.pcap"
    argv = ["command", str(DEACTIVATE), "--keystore", str(RTDS_KEYSTORE), "--pcap", str(pcap)]
    assert gbhan_emulate(argv) == 0
    keys = pcap.with_suffix(".pcap.keys")
    problems = tshark_lines(
        pcap,
        keys,
        "-Y",
        '_ws.malformed || _ws.expert.severity >= "warning"',
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.expert.message",
    )
    assert problems == []
    events = tshark_lines(
        pcap,
        keys,
        "-Y",
        "zbee_zcl_se.drlc.cmd.srv_tx.id == 0",
        "-T",
        "fields",
        "-e",
        "zbee_zcl_se.drlc.duration_in_minutes",
        "-e",
        "zbee_zcl_se.drlc.duty_cycle",
    )
    # the Load Control Event to the switch in slot 3: 60 minutes (RTDS Duration), level 0 %
    assert [line.split("\t") for line in events] == [["60", "0x00"]]
    tunnel = tshark_lines(pcap, keys, "-Y", "gbcs_message", "-T", "fields", "-e", "frame.number")
    assert len(tunnel) == 2  # the command to the ESME and its response, through the tunnel
