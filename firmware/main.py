# Firmware entry point: picks the board (HAL) and the role, then runs the switch.
#
# Unix board: `micropython -c "import firmware.main" --role hcalcs --state-dir DIR ...`
# (MICROPYPATH holds the folder above firmware/; `gbhan board run` does all this).
# Real boards: a root main.py does `import firmware.main`, and /config.json gives
# {"board": "rp2"|"esp32"|"xbee3", "role": ..., "esme": "<16 hex digits>", ...}.
# Boards with asyncio run the tasks below; the xbee3 board (no asyncio) runs its own loop.
import gc
import sys

from firmware.lib import xbee

TICK_MS = 100
_RX_BUFFER = 1024


def load_board():
    if sys.platform == "linux" or sys.platform == "darwin":
        from firmware.hal.unix import Board as UnixBoard
        return UnixBoard()
    import json
    try:
        f = open("/config.json")
        config = json.load(f)
        f.close()
    except (OSError, ValueError):
        config = {}
    name = config.get("board", sys.platform)
    if name == "rp2":
        from firmware.hal.rp2 import Board as Rp2Board
        return Rp2Board(config)
    if name == "esp32":
        from firmware.hal.esp32 import Board as Esp32Board
        return Esp32Board(config)
    from firmware.hal.xbee3 import Board as XBee3Board
    return XBee3Board(config)


def firmware_root():
    import firmware.switch
    paths = firmware.switch.__path__  # a str on MicroPython, a list on CPython
    path = paths if isinstance(paths, str) else paths[0]
    return path.rsplit("/", 1)[0]


def open_log(board):
    """The event log (batched, in board.storage_root/log); the fixed-slot file older
    firmware kept is removed (12 KB that no longer wears)."""
    import os
    from firmware.lib.eventlog import EventLog
    try:
        os.remove(board.storage_root + "/events.log")
    except OSError:
        pass
    return EventLog(board.storage_root + "/log", board.clock.utc, board.clock)


def setup(board):
    """The app on this board's storage, clock and outputs, booted (fail-safe output)."""
    # Imported here, not at the top: the commshub role never loads the switch's modules.
    from firmware.lib.storage import Store
    from firmware.switch.app import Config, SwitchApp
    from firmware.switch.labels import load_vocabulary
    store = Store(board.storage_root)
    log = open_log(board)
    vocabulary = load_vocabulary(firmware_root() + "/switch/labels.txt")
    config = Config(board.role, board.esme, board.strict_labels, vocabulary)
    app = SwitchApp(config, store, log, board.clock, board.outputs)
    board.app = app
    if board.initial_label and not app.state.label:
        app.set_label(board.initial_label)
    if board.esme is not None and app.esme is not None and board.esme != app.esme:
        app.commission(board.esme)
    app.start()
    return app


def feed_radio(app, buf, start, end):
    """Hand every complete frame in buf[start:end] to the app; returns the new start."""
    while start < end:
        used, frame, reason = xbee.decode(buf, start, end)
        if used == 0:
            break
        start += used
        if frame is not None:
            app.on_frame(frame)
        else:
            app.on_skipped(reason, used)
    return start


# -- the asyncio boards (unix, rp2, esp32) ----------------------------------------------------

async def radio_task(app, board, buf):
    import asyncio
    start = 0
    end = 0
    reader = board.radio_reader
    while True:
        chunk = await reader.read(256)
        if not chunk:
            await asyncio.sleep_ms(5)  # nobody on the other end of the pty right now
            continue
        n = len(chunk)
        if end + n > len(buf):
            buf[0:end - start] = buf[start:end]
            end -= start
            start = 0
            if end + n > len(buf):  # cannot happen with the frame length cap; stay safe
                app.on_skipped("overflow", end)
                start = end = 0
        buf[end:end + n] = chunk
        end += n
        while start < end:
            used, frame, reason = xbee.decode(buf, start, end)
            if used == 0:
                break
            start += used
            if frame is not None:
                app.on_frame(frame)
            else:
                app.on_skipped(reason, used)
            if len(app.tx_queue) > 8:
                # Let the writer drain before the queue drops replies.
                board.tx_ready.set()
                await asyncio.sleep_ms(0)
        if start == end:
            start = end = 0
        board.tx_ready.set()


async def tx_task(app, board):
    writer = board.radio_writer
    while True:
        await board.tx_ready.wait()
        board.tx_ready.clear()
        while app.tx_queue:
            writer.write(app.tx_queue.pop(0))
            await writer.drain()


async def console_task(app, board):
    import asyncio
    from firmware.switch import console
    reader = board.console_reader
    writer = board.console_writer
    while True:
        line = await reader.readline()
        if not line:
            await asyncio.sleep_ms(20)
            continue
        try:
            text = line.decode().strip()
        except UnicodeError:
            text = "?"
        for reply in console.handle(app, board, text):
            writer.write(reply.encode() + b"\n")
            await writer.drain()
        board.tx_ready.set()


async def tick_task(app, board):
    import asyncio
    while True:
        await asyncio.sleep_ms(TICK_MS)
        app.tick()
        board.feed_watchdog()
        if app.tx_queue:
            board.tx_ready.set()


def _fault(loop, context):
    # A task died: as on a real device, log it and reset (the rig or watchdog restarts us).
    exc = context.get("exception")
    board = _running.get("board")
    if board is not None and board.app is not None:
        board.app.log.append("fault", repr(exc))
        board.app.log.flush()
    sys.print_exception(exc)
    if board is not None:
        board.reset(3)


_running = {}  # type: dict


async def run(board):
    import asyncio
    # Long-lived buffers first, on a freshly collected heap, so later garbage cannot
    # fragment the space they need (the unix board runs with the heap of a small board).
    gc.collect()
    rx_buffer = bytearray(_RX_BUFFER)
    _running["board"] = board
    board.tx_ready = asyncio.Event()
    asyncio.get_event_loop().set_exception_handler(_fault)
    app = setup(board)
    board.tx_ready.set()
    gc.collect()
    tasks = [asyncio.create_task(radio_task(app, board, rx_buffer)),
             asyncio.create_task(tx_task(app, board)),
             asyncio.create_task(console_task(app, board)),
             asyncio.create_task(tick_task(app, board))]
    for coro in board.tasks(app):
        tasks.append(asyncio.create_task(coro))
    await asyncio.gather(*tasks)


# -- the Comms Hub role (firmware/commshub, docs/commshub.md) ---------------------------
# The same loop shape as the switch's, plus the WAN link; its modules load only here.

def _hub_rand(n):
    """0..n, uniformly enough for a dither window (os.urandom, else the tick counter)."""
    if n <= 0:
        return 0
    try:
        import os
        r = os.urandom(2)
        value = r[0] << 8 | r[1]
    except (ImportError, AttributeError, OSError):
        import time
        value = time.ticks_us() & 0xFFFF  # type: ignore[operator]
    return value % (n + 1)


def hub_setup(board):
    """The Comms Hub app on this board's storage and clock, started."""
    from firmware.commshub.app import HubApp
    from firmware.lib.storage import Store
    store = Store(board.storage_root)
    log = open_log(board)
    app = HubApp(board, store, log, board.clock, _hub_rand)
    board.app = app
    app.start()
    return app


async def _hub_stream_task(reader, buf, decode, on_frame, on_skipped, kick):
    import asyncio
    start = end = 0
    while True:
        chunk = await reader.read(256)
        if not chunk:
            await asyncio.sleep_ms(5)
            continue
        n = len(chunk)
        if end + n > len(buf):
            buf[0:end - start] = buf[start:end]
            end -= start
            start = 0
            if end + n > len(buf):
                on_skipped("overflow", end)
                start = end = 0
        buf[end:end + n] = chunk
        end += n
        while start < end:
            used, frame, reason = decode(buf, start, end)
            if used == 0:
                break
            start += used
            if frame is not None:
                on_frame(frame)
            else:
                on_skipped(reason, used)
        if start == end:
            start = end = 0
        kick()


async def _hub_writer_task(board, app):
    while True:
        await board.tx_ready.wait()
        board.tx_ready.clear()
        while app.tx_queue:
            board.radio_writer.write(app.tx_queue.pop(0))
            await board.radio_writer.drain()
        while app.wan_queue:
            board.wan_writer.write(app.wan_queue.pop(0))
            await board.wan_writer.drain()


async def _hub_console_task(app, board):
    import asyncio
    from firmware.commshub import console as hub_console
    while True:
        line = await board.console_reader.readline()
        if not line:
            await asyncio.sleep_ms(20)
            continue
        try:
            text = line.decode().strip()
        except UnicodeError:
            text = "?"
        for reply in hub_console.handle(app, board, text):
            board.console_writer.write(reply.encode() + b"\n")
            await board.console_writer.drain()
        board.tx_ready.set()


async def _hub_tick_task(app, board):
    import asyncio
    while True:
        await asyncio.sleep_ms(TICK_MS)
        app.tick()
        board.feed_watchdog()
        if app.tx_queue or app.wan_queue:
            board.tx_ready.set()


async def run_hub(board):
    import asyncio
    from firmware.commshub.wan import decode as wan_decode
    gc.collect()
    radio_buf = bytearray(_RX_BUFFER)
    wan_buf = bytearray(_RX_BUFFER)
    board.tx_ready = asyncio.Event()
    app = hub_setup(board)
    board.tx_ready.set()
    gc.collect()
    kick = board.tx_ready.set
    await asyncio.gather(
        asyncio.create_task(_hub_stream_task(board.radio_reader, radio_buf, xbee.decode,
                                             app.on_frame, app.on_skipped, kick)),
        asyncio.create_task(_hub_stream_task(board.wan_reader, wan_buf, wan_decode,
                                             app.on_wan, app.on_wan_skipped, kick)),
        asyncio.create_task(_hub_writer_task(board, app)),
        asyncio.create_task(_hub_console_task(app, board)),
        asyncio.create_task(_hub_tick_task(app, board)))


def main():
    board = load_board()
    if getattr(board, "role", None) == "commshub":
        # The Comms Hub role (firmware/commshub, docs/commshub.md): its own app and tasks.
        import asyncio
        asyncio.run(run_hub(board))
        return
    if hasattr(board, "loop"):
        board.loop(setup(board))  # boards without asyncio poll in their own loop
        return
    import asyncio
    asyncio.run(run(board))


main()
