"""A Comms Hub virtual board (the real firmware, role commshub) wired to a DSP through
emulator.backoffice.hub_link: the hub's console steps simulated time and the mains, its WAN
pty is served by the DSP's HubLink on the asyncio loop, and the DNO receives what the DSP
delivers (in process, or at its own aiohttp endpoint)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import struct
from pathlib import Path

from backoffice_helpers import DCCBOXED
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice import service
from emulator.backoffice.hub_link import HubLink
from emulator.backoffice.inventory import RTDS_PREMISES, Device
from emulator.backoffice.users import Deliveries, Endpoint, InProcessTransport, make_user
from emulator.clock import ZIGBEE_EPOCH_UNIX
from emulator.han.commshub_radio import CoordinatorRadio
from emulator.virtual_board import VirtualBoard
from gbcs.keystore import Keystore

T0 = 1_800_000_000  # unix seconds: 2027-01-15 08:00 UTC
HUB = bytes.fromhex("0013a20041a7b001")  # the hub's radio EUI-64 (the coordinator stand-in)
MPAN = "1012345678901"
HEAP = "104K"  # the firmware tests' budget
TUNNELING = 0x0704
NWK = 0x1A2B


def zigbee(unix: int) -> int:
    return unix - ZIGBEE_EPOCH_UNIX


def dsp_for_hub(schema, trusted, dsp_signer, *, http: bool):
    """A DSP whose inventory holds the hub as the RTDS premises' CHF, with an MPAN, and a
    DNO user to receive (in process, or over HTTP when `http`)."""
    delivery = service.HttpDelivery() if http else None
    dsp, _premises = build_dsp(schema, trusted, dsp_signer, delivery=delivery)
    dsp.inventory.add(Device(HUB, "chf", RTDS_PREMISES))
    record = dsp.inventory.premises[RTDS_PREMISES]
    dsp.inventory.premises[RTDS_PREMISES] = dataclasses.replace(record, mpxn=MPAN)
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    dno = make_user("dno", keys, schema, trusted, InProcessTransport(dsp))
    if not http:
        dsp.delivery = Deliveries(dno)
    return dsp, dno


class HubRig:
    """The board, its radio, the DSP's link on the WAN pty, and the simulated time."""

    def __init__(self, state_dir: Path, dsp, **settings: int):
        extra = []
        for name, value in settings.items():
            extra += [f"--{name.replace('_', '-')}", str(value)]
        self.board = VirtualBoard("commshub", state_dir, heap=HEAP, extra=extra)
        self.radio = CoordinatorRadio(self.board, eui64=HUB)
        self.dsp = dsp
        self.link = HubLink(dsp, HUB)
        self.now = T0
        dsp.utc_now = self.utc  # the DSP's calendar follows the hub's simulated time
        self._stop = asyncio.Event()
        self._serving: asyncio.Task | None = None
        self.board.power_on(boot_args=["--clock", str(T0)])
        self.radio.pump(0.3)  # AT commands and registrations answered

    def utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, dt.UTC)

    def serve(self) -> None:
        """Start the DSP's end of the WAN link (the board's WAN pty) on the running loop."""
        self._stop.clear()
        self._serving = asyncio.get_running_loop().create_task(
            self.link.serve_fd(self.board.wan_fd, self._stop)
        )

    async def unserve(self) -> None:
        self._stop.set()
        if self._serving is not None:
            await self._serving

    async def command(self, line: str) -> str:
        """A console command, off the loop so the link keeps serving meanwhile."""
        return await asyncio.to_thread(self.board.command, line)

    async def at(self, unix: int) -> None:
        self.now = unix
        assert await self.command(f"clock {unix}") == f"ok clock {unix}"
        await asyncio.to_thread(self.radio.pump, 0)
        await asyncio.sleep(0.02)  # the hub's frames read and acknowledged in real time

    async def mains(self, on: bool) -> None:
        word = "on" if on else "off"
        assert await self.command(f"mains {word}") == f"ok mains {word}"

    async def run_until(self, end: int, step: int = 1) -> None:
        t = self.now
        while t < end:
            t = min(end, t + step)
            await self.at(t)
        await asyncio.sleep(0.1)

    async def tunnel_up(self, device: bytes, install_code: bytes, gbcs_message: bytes) -> None:
        """`device` joins the hub (device log, then the radio) and sends `gbcs_message` up
        a GB-HRGP tunnel, as the meter sends its ECS80."""
        reply = await self.command(f"devlog add {device.hex()} {install_code.hex()}")
        assert reply == "ok devlog add added", reply
        await self._radio_until(lambda: device in self.radio.registered)
        assert self.radio.join(device, NWK)
        n = len(self.radio.sent)
        request_tunnel = bytes([0x01, 0x10, 0x00, 0x06, 0, 0, 0, 0xFF, 0])  # GB-HRGP
        self.radio.deliver(device, NWK, TUNNELING, request_tunnel)
        await self._radio_until(lambda: any(f.cluster == TUNNELING for f in self.radio.sent[n:]))
        response = next(f for f in self.radio.sent[n:] if f.cluster == TUNNELING)
        tunnel, status = struct.unpack_from("<HB", response.data, 3)
        assert status == 0, response
        self.radio.deliver(
            device,
            NWK,
            TUNNELING,
            bytes([0x01, 0x20, 0x02]) + struct.pack("<H", tunnel) + gbcs_message,
        )

    async def _radio_until(self, done, timeout: float = 3.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            assert loop.time() < deadline, "the hub did not answer on the radio"
            await asyncio.to_thread(self.radio.pump, 0.05)

    async def counters(self) -> dict[str, str]:
        reply = await self.command("outage")
        return dict(p.split("=", 1) for p in reply.split()[1:])

    def close(self) -> None:
        self.board.close()


async def endpoint_for(dsp, dno) -> Endpoint:
    """The DNO's real aiohttp endpoint, registered with the DSP."""
    endpoint = Endpoint(dno)
    dsp.users.set_endpoint(dno.eui, await endpoint.start())
    return endpoint
