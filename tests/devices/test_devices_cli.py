"""`gbhan emulate command` end to end: replay via --repeat 2, and a capture that tshark
dissects with no malformed frame and shows the ZCL commands to the switch."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from devices_helpers import RTDS, RTDS_KEYSTORE

from tools import cli

DEACTIVATE = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"


def gbhan_emulate(argv: list[str]) -> int:
    return cli.main(["emulate", *argv])


@pytest.mark.parametrize("switch", ["model", "board"])
def test_repeat_two_is_a_replay(capsys, switch):
    argv = ["command", str(DEACTIVATE), "--keystore", str(RTDS_KEYSTORE), "--repeat", "2"]
    assert gbhan_emulate([*argv, "--switch", switch]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["outcome"] == "executed"
    assert first["switch"] == {"relay": "open", "level": 0}
    assert first["response_verified"] is True
    assert second["outcome"] == "rejected:replay"
    assert second["response"] is None


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
        pcap, keys, "-Y", '_ws.malformed || _ws.expert.severity >= "warning"',
        "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message",
    )
    assert problems == []
    events = tshark_lines(
        pcap, keys, "-Y", "zbee_zcl_se.drlc.cmd.srv_tx.id == 0", "-T", "fields",
        "-e", "zbee_zcl_se.drlc.duration_in_minutes", "-e", "zbee_zcl_se.drlc.duty_cycle",
    )
    # the Load Control Event to the switch in slot 3: 60 minutes (RTDS Duration), level 0 %
    assert [line.split("\t") for line in events] == [["60", "0x00"]]
    tunnel = tshark_lines(pcap, keys, "-Y", "gbcs_message", "-T", "fields", "-e", "frame.number")
    assert len(tunnel) == 2  # the command to the ESME and its response, through the tunnel
