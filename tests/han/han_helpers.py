"""Shared pieces of the HAN tests: a toy On/Off switch node, a network builder, tshark."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import zcl
from emulator.han.link import InProcessNode
from emulator.han.medium import LinkQuality, Medium
from emulator.han.network import CommsHubCoordinator

HUB_IEEE = "00:0d:6f:00:00:00:00:01"
SWITCH_IEEE = "00:0d:6f:00:00:00:00:a5"
#: primer 6.2 test vector: this install code (with CRC) gives link key 66b69009...
SWITCH_INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
NETWORK_KEY = bytes.fromhex("01030507090b0d0f00020406080a0c0d")


def require_tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise AssertionError("tshark is not installed: apt-get install -y tshark (CI installs it)")
    return path


def switch_endpoints() -> list[zdo_t.SimpleDescriptor]:
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1,
            profile=0x0109,
            device_type=0x0505,  # SE load control device
            device_version=0,
            input_clusters=[0x0000, 0x0006],
            output_clusters=[0x0701],
        )
    ]


class ToyOnOffSwitch(InProcessNode):
    """A minimal On/Off server for exercising the HAN (the real switch model lives elsewhere)."""

    def __init__(self, ieee, install_code: bytes, medium: Medium) -> None:
        from emulator.han.security import link_key_from_install_code

        super().__init__(ieee, link_key_from_install_code(install_code), medium, switch_endpoints())
        self.relay_on = False
        self.commands_applied = 0
        self.frames_rejected = 0
        self.on_cluster(1, OnOff.cluster_id, self._on_off)

    def _on_off(self, packet: t.ZigbeePacket) -> None:
        try:
            frame = zcl.parse(OnOff, bytes(packet.data.serialize()))
        except zcl.ZclDecodeError:
            self.frames_rejected += 1  # as a real switch does: count it, answer nothing
            return
        if frame.name in ("on", "off", "toggle"):
            self.relay_on = {"on": True, "off": False, "toggle": not self.relay_on}[frame.name]
            self.commands_applied += 1
            status = f.Status.SUCCESS
        else:
            status = f.Status.UNSUP_CLUSTER_COMMAND
        reply = zcl.default_response(frame.tsn, frame.header.command_id, status, from_server=True)
        self.spawn(self.reply(packet, reply))


async def formed_network(
    clock: Clock,
    *,
    seed: int = 1,
    capture=None,
    link: LinkQuality | None = None,
) -> tuple[Medium, CommsHubCoordinator, ToyOnOffSwitch]:
    """A hub that formed the network and a toy switch that joined it through the device log."""
    medium = Medium(clock, seed=seed, capture=capture, default_link=link)
    hub = CommsHubCoordinator(HUB_IEEE, medium)
    hub.form(NETWORK_KEY)
    switch = ToyOnOffSwitch(SWITCH_IEEE, SWITCH_INSTALL_CODE, medium)
    hub.device_log.add(SWITCH_IEEE, SWITCH_INSTALL_CODE)
    hub.permit_joining(60)
    await hub.admit(switch)
    return medium, hub, switch


def tshark_json(tshark: str, pcap: Path, key_options: list[str]) -> list[dict]:
    out = subprocess.run(
        [tshark, *key_options, "-r", str(pcap), "-T", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def tshark_fields(
    tshark: str,
    pcap: Path,
    key_options: list[str],
    fields: list[str],
    display_filter: str | None = None,
) -> list[list[str]]:
    cmd = [tshark, *key_options, "-r", str(pcap), "-T", "fields", "-E", "separator=|"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines()]


def tshark_problems(tshark: str, pcap: Path, key_options: list[str]) -> list[str]:
    """Frames that are malformed or carry an expert warning/error (should be none)."""
    cmd = [
        tshark,
        *key_options,
        "-r",
        str(pcap),
        "-Y",
        '_ws.malformed || _ws.expert.severity >= "warning"',
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.expert.message",
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]
