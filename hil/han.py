"""The rest of the HAN around the DUT: a Comms Hub, the commissioned meter (ESME), a stranger
meter, and the XBee stand-in on the board's radio channel, all from `emulator.han`.

The HAN runs on a wall-clock `emulator.clock.Clock` (a real process or board is in the
loop) in a thread of its own; tests call it synchronously. Frames are built with zigpy
(`emulator.han.zcl`, `se_clusters`) and sent by the meter node, as a meter would send them.
Every frame the stand-in writes to the board is stamped, so a test can measure from the
moment its command reached the board's UART.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation as f

from emulator.clock import ZIGBEE_EPOCH_UNIX, Clock
from emulator.han import zcl
from emulator.han.link import InProcessNode, RequestError
from emulator.han.medium import LinkQuality, Medium, packet_to
from emulator.han.network import CommsHubCoordinator
from emulator.han.security import link_key_from_install_code
from emulator.han.xbee_standin import FRAME_RX_EXPLICIT, FrameDecoder, XBeeStandIn

from .dut import RIG_ESME, Dut
from .errors import HilError

HUB_IEEE = "00:0d:6f:00:00:00:00:01"
ESME_IEEE = ":".join(RIG_ESME[i : i + 2] for i in range(0, 16, 2))
STRANGER_IEEE = "00:12:4b:00:01:ff:ee:01"
BOARD_RADIO_IEEE = "00:13:a2:00:41:7e:11:13"  # the XBee the rig stands in for
METER_INSTALL_CODE = bytes(range(16))
BOARD_INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
NETWORK_KEY = bytes.fromhex("01030507090b0d0f00020406080a0c0d")
#: the APS link key each meter shares with the board (a GB meter's commands to its switch are
#: APS-secured with it; the switch refuses commands without it). The stranger holds one too:
#: it is refused for not being the commissioned meter, not for lacking keys.
PARTNER_LINK_KEYS = {
    "esme": bytes.fromhex("5a6967426565416c6c69616e63653039"),
    "stranger": bytes.fromhex("00112233445566778899aabbccddeeff"),
}
PROFILE_SE = 0x0109
#: Clusters whose unsolicited frames from the switch the meter keeps (reports, DRLC statuses).
METER_CLUSTERS = (0x0000, 0x0006, 0x0008, 0x0701, 0xFC00)
TIME_CLUSTER = 0x000A
TIME_STATUS_MASTER_SYNCED = 0x03  # TimeStatus bits: master clock, synchronised


class HanError(HilError, RuntimeError):
    """The HAN around the DUT could not be built or did not answer."""


@dataclass(frozen=True)
class Received:
    """A frame the switch sent the meter that was not an answer to a request."""

    cluster: int
    data: bytes
    arrived: float  # host monotonic seconds


@dataclass(frozen=True)
class Answer:
    cluster: int
    data: bytes
    sent_ns: int | None  # when the command reached the board's UART (None: not seen)
    elapsed_s: float  # request handed to the meter -> answer back


def switch_endpoints() -> list[zdo_t.SimpleDescriptor]:
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1,
            profile=PROFILE_SE,
            device_type=0x0505,  # SE load control device
            device_version=0,
            input_clusters=[0x0000, 0x0003, 0x0006, 0x0008, 0xFC00],
            output_clusters=[0x0701],
        )
    ]


def _meter(ieee: str, medium: Medium) -> InProcessNode:
    return InProcessNode(
        ieee,
        link_key_from_install_code(METER_INSTALL_CODE),
        medium,
        [
            zdo_t.SimpleDescriptor(
                endpoint=1,
                profile=PROFILE_SE,
                device_type=0x0501,  # ESP / meter
                device_version=0,
                input_clusters=[0x0701],
                output_clusters=[0x0000, 0x0006, 0x0008, 0xFC00],
            )
        ],
    )


class Burst:
    """A burst being sent on the HAN's loop. `stop()` returns once it has sent its last
    frame: a power-cut test restores the power after it, so no frame of the burst reaches
    the rebooted board. (Cancelling the task is not enough: on Python 3.11 `asyncio.wait_for`
    can swallow a cancellation that lands as the APS ack arrives, and the burst goes on.)"""

    def __init__(self) -> None:
        self.halted = threading.Event()
        self.finished = threading.Event()
        self.future: concurrent.futures.Future[None] | None = None  # (holds the task)

    def stop(self, timeout: float = 10.0) -> None:
        self.halted.set()
        if not self.finished.wait(timeout):
            raise HanError(f"a burst still sending {timeout} s after it was stopped")


class HanRig:
    """Hub, meters and the stand-in; `request()` and `send()` speak as the meter."""

    def __init__(self, dut: Dut, *, join_timeout: float = 10.0):
        self.dut = dut
        self.clock = Clock(mode="wall")
        self.loop = self.clock.new_loop()
        self.unsolicited: collections.deque[Received] = collections.deque(maxlen=2000)
        self.to_board: list[tuple[int, int, bytes]] = []
        # What the meter's Time server answers (unix seconds); the `clock` fixture points
        # it at the board's clock, so a simulated run stays on its simulated time.
        self.time_source: Callable[[], int] = lambda: int(time.time())
        self.time_reads = 0
        # Called in the HAN's thread with each frame kept, as it arrives: a test that must act
        # at an exact point of a burst (cut the power at the Nth answer) acts here, not after
        # its own thread is next scheduled (on a loaded machine, the whole burst later).
        self.on_received: Callable[[Received], None] | None = None
        self._cond = threading.Condition()
        self._decoder = FrameDecoder()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hil-han", daemon=True)
        self._thread.start()
        try:
            self.call(self._build(), timeout=join_timeout)
        except BaseException:
            self.close()
            raise

    # -- plumbing ----------------------------------------------------------------------------
    def call(self, coro, timeout: float = 10.0):
        """Run a coroutine on the HAN's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise HanError(f"the HAN did not finish within {timeout} s") from None

    def _write_to_board(self, data: bytes) -> None:
        stamp = self.dut.radio.write(data)
        if stamp is None:
            return
        for frame in self._decoder.feed(data):
            self.to_board.append((stamp, frame[0], frame))

    async def _build(self) -> None:
        self.medium = Medium(self.clock, seed=1, default_link=LinkQuality(latency_s=0.002))
        self.hub = CommsHubCoordinator(HUB_IEEE, self.medium)
        self.hub.form(NETWORK_KEY)
        self.hub.permit_joining(3600)
        self.esme = _meter(ESME_IEEE, self.medium)
        self.stranger = _meter(STRANGER_IEEE, self.medium)
        for cluster in METER_CLUSTERS:
            self.esme.on_cluster(1, cluster, self._keep(self.esme))
            self.stranger.on_cluster(1, cluster, self._keep(None))
        self.esme.on_cluster(1, TIME_CLUSTER, self._time_server)
        self.radio = XBeeStandIn(
            BOARD_RADIO_IEEE,
            link_key_from_install_code(BOARD_INSTALL_CODE),
            self.medium,
            switch_endpoints(),
        )
        self.radio.attach(self._write_to_board)
        loop, radio = self.loop, self.radio

        def listen(chunk: bytes, _ns: int) -> None:
            loop.call_soon_threadsafe(radio.feed, chunk)

        self.dut.radio_listener = listen
        for node, code in (
            (self.esme, METER_INSTALL_CODE),
            (self.stranger, METER_INSTALL_CODE),
            (self.radio, BOARD_INSTALL_CODE),
        ):
            self.hub.device_log.add(node.ieee, code)
            await self.hub.admit(node)
        for name, meter in (("esme", self.esme), ("stranger", self.stranger)):
            self.medium.set_link_key(meter.ieee, self.radio.ieee, PARTNER_LINK_KEYS[name])

    def _keep(self, node: InProcessNode | None) -> Callable:
        def handler(packet) -> None:
            data = bytes(packet.data.serialize())
            received = Received(packet.cluster_id, data, time.monotonic())
            with self._cond:
                self.unsolicited.append(received)
                self._cond.notify_all()
            if self.on_received is not None:
                self.on_received(received)
            header = zcl.peek_header(data)
            if node is not None and header.cluster_specific and not header.disable_default_response:
                # A meter acknowledges what the switch tells it (e.g. DRLC event statuses).
                reply = zcl.default_response(
                    header.tsn, header.command_id, f.Status.SUCCESS, from_server=False
                )
                node.spawn(node.reply(packet, reply))

        return handler

    def _time_server(self, packet) -> None:
        """The meter's Time cluster server: Read Attributes of Time (0x0000, UTCTime) and
        TimeStatus (0x0001, master and synchronised), from `time_source` (unix seconds: the
        rig's clock for the board), answered secured as asked."""
        data = bytes(packet.data.serialize())
        header = zcl.peek_header(data)
        self.time_reads += 1
        if header.cluster_specific or header.command_id != f.GeneralCommand.Read_Attributes:
            return
        records = b""
        for (attr,) in struct.iter_unpack("<H", data[3 : 3 + (len(data) - 3) // 2 * 2]):
            if attr == 0x0000:
                now = int(self.time_source()) - ZIGBEE_EPOCH_UNIX
                records += struct.pack("<HBBI", attr, 0, 0xE2, now)
            elif attr == 0x0001:
                records += struct.pack("<HBBB", attr, 0, 0x18, TIME_STATUS_MASTER_SYNCED)
            else:
                records += struct.pack("<HB", attr, f.Status.UNSUPPORTED_ATTRIBUTE)
        self.esme.spawn(self.esme.reply(packet, bytes([0x18, header.tsn, 0x01]) + records))

    @property
    def board_nwk(self) -> int:
        if self.radio.nwk is None:
            raise HanError("the board's radio has no network address: it has not joined")
        return int(self.radio.nwk)

    # -- speaking as a meter -------------------------------------------------------------------
    def next_tsn(self, node: InProcessNode | None = None) -> int:
        return (node or self.esme).next_tsn()

    def request(
        self,
        cluster: int,
        frame: bytes,
        *,
        sender: InProcessNode | None = None,
        timeout: float = 5.0,
        aps_encryption: bool = True,
    ) -> Answer:
        """Send a ZCL frame to the switch's endpoint 1 and wait for its answer (APS-secured
        unless `aps_encryption=False`)."""
        node = sender or self.esme
        mark = len(self.to_board)
        start = time.monotonic()

        async def go():
            return await node.request(
                self.board_nwk, 1, cluster, frame, timeout=timeout, aps_encryption=aps_encryption
            )

        try:
            packet = self.call(go(), timeout=timeout + 5)
        except RequestError as exc:
            raise HanError(f"no answer from the switch to {frame.hex()}: {exc}") from exc
        return Answer(
            cluster, bytes(packet.data.serialize()), self.sent_stamp(mark), time.monotonic() - start
        )

    def sent_stamp(self, mark: int) -> int | None:
        """Host ns at which the first 0x91 frame after `mark` was written to the board."""
        frames = self.to_board[mark:]
        for stamp, kind, _frame in frames:
            if kind == FRAME_RX_EXPLICIT:
                return stamp
        return None

    def mark(self) -> int:
        return len(self.to_board)

    def send(
        self,
        cluster: int,
        frame: bytes,
        *,
        sender: InProcessNode | None = None,
        aps_encryption: bool = True,
    ) -> None:
        """Send without waiting for an answer (a stranger's frame, or one of a burst)."""
        node = sender or self.esme

        async def go():
            return await node.send(
                packet_to(self.board_nwk, 1, cluster, frame, aps_encryption=aps_encryption)
            )

        self.call(go())

    def start_burst(self, frames: list[tuple[int, bytes]], gap_s: float = 0.0) -> Burst:
        """Send frames one after another in the background; `stop()` the returned burst."""
        burst = Burst()

        async def go():
            try:
                for cluster, frame in frames:
                    if burst.halted.is_set():
                        return
                    await self.esme.send(
                        packet_to(self.board_nwk, 1, cluster, frame, aps_encryption=True)
                    )
                    if gap_s:
                        await asyncio.sleep(gap_s)
            finally:
                burst.finished.set()

        burst.future = asyncio.run_coroutine_threadsafe(go(), self.loop)
        return burst

    def received_since(self, since: float, cluster: int | None = None) -> list[Received]:
        with self._cond:
            return [
                r
                for r in self.unsolicited
                if r.arrived >= since and (cluster is None or r.cluster == cluster)
            ]

    def wait_received(
        self, predicate: Callable[[Received], bool], since: float, timeout: float = 5.0
    ) -> Received:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.unsolicited:
                    if item.arrived >= since and predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HanError(f"the switch sent no matching frame within {timeout} s")
                self._cond.wait(left)

    def close(self) -> None:
        self.dut.radio_listener = None
        if self.loop.is_running():

            async def stop():
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            try:
                asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
            except Exception:  # noqa: BLE001 - shutting down whatever state it is in
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()
