# Firmware entry point: picks the board (HAL) and the role, then runs the switch.
#
# Unix board: `micropython -c "import firmware.main" --role hcalcs --state-dir DIR ...`
# (MICROPYPATH holds the folder above firmware/; `gbhan board run` does all this).
# Real boards: a root main.py does `import firmware.main`, and /config.json gives
# {"board": "rp2"|"esp32"|"xbee3", "role": ..., "esme": "<16 hex digits>", ...}.
# Boards with asyncio run the tasks below; the xbee3 board (no asyncio) runs its own loop.
#
# Per-task watchdog: each task checks in (beat) and must do so again within its deadline,
# unless it is waiting for input (idle: a quiet radio is not a hung one); the tick task
# feeds the board's watchdog only while no task is late, so a hung task resets the board.
# A `safeboot` file in the flash root (or config "safe_pin" held low) skips the app: the
# board goes to the REPL with the relay released and no watchdog. Ctrl-C stops the app and,
# where the port can, the watchdog (docs/firmware.md, "Console, watchdog, safe boot").
import gc
import sys
import time

from micropython import const

# firmware.* modules are imported only once the board exists: its constructor releases the
# relay first, so an import that fails (a half-copied tree, no memory) leaves it released.
TICK_MS = 100
_RX_BUFFER = 1024
_TASK_MS = const(2000)  # a task must check in again within this (unless idle)
_CONSOLE_MS = const(20)  # the console is looked at again after this when nobody is there
_LINE_MAX = const(512)  # a console line (a 24-entry calendar is ~320 characters)
tasks = {}  # type: dict  # task -> ticks_ms by which it must check in again; None while it waits for input


def beat(task, ms=_TASK_MS):
    """The task is alive and checks in again within `ms`; 0: it waits for input (a quiet
    radio is not a hung one)."""
    tasks[task] = time.ticks_add(time.ticks_ms(), ms) if ms else None


def feed(app, board):
    """Feed the board's watchdog while every task is on time; else log the first late task
    once (the loop still runs) and let the watchdog reset the board."""
    now = time.ticks_ms()
    for task in tasks:
        due = tasks[task]
        if due is not None and time.ticks_diff(now, due) > 0:
            if task != _running.get(None):
                _running[None] = task
                app.log.append("watchdog", task)  # this task is late
                app.log.flush()
            return
    board.watchdog.feed()


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


# -- the asyncio boards (unix, rp2, esp32) ----------------------------------------------------

async def stream_task(name, app, board, reader, buf, decode, on_frame, on_skipped):
    """Frames from a UART (the radio; the hub's WAN link) to the app as they complete."""
    import asyncio
    start = end = 0
    while True:
        beat(name, 0)
        chunk = await reader.read(256)
        beat(name)
        if not chunk:
            await asyncio.sleep_ms(5)  # nobody on the other end of the pty right now
            continue
        n = len(chunk)
        if end + n > len(buf):
            buf[0:end - start] = buf[start:end]
            end -= start
            start = 0
            if end + n > len(buf):  # cannot happen with the frame length cap; stay safe
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
            if len(app.tx_queue) > 8:
                # Let the writer drain before the queue drops replies.
                board.tx_ready.set()
                await asyncio.sleep_ms(0)
        if start == end:
            start = end = 0
        board.tx_ready.set()


async def tx_task(app, board):
    wan = getattr(app, "wan_queue", None)  # the hub's link to the DSP
    while True:
        beat("tx", 0)
        await board.tx_ready.wait()
        beat("tx")
        board.tx_ready.clear()
        while app.tx_queue:
            board.radio_writer.write(app.tx_queue.pop(0))
            await board.radio_writer.drain()
        while wan:
            board.wan_writer.write(wan.pop(0))
            await board.wan_writer.drain()


async def console_task(app, board, handle):
    """Takes the console a character at a time as each arrives (asyncio waits for the
    stream to be readable, then reads one: a board's stdin read of n waits for all n) and
    assembles lines itself, so a half-typed line never stalls the loop, as asyncio's
    readline did (its read waits for the Enter). Enter is CR or LF; backspace/DEL edit;
    a line is cut at _LINE_MAX characters. Waiting for a character is idle, not hung."""
    import asyncio
    reader = board.console_reader
    writer = board.console_writer
    buf = bytearray()
    while True:
        beat("console", 0)
        c = await reader.read(1)
        beat("console")
        if not c:
            await asyncio.sleep_ms(_CONSOLE_MS)  # nobody on the other end right now
            continue
        c = ord(c) if isinstance(c, str) else c[0]
        if c != 10 and c != 13:
            if c == 8 or c == 127:
                buf[-1:] = b""
            elif len(buf) < _LINE_MAX:
                buf.append(c)
            continue
        if not buf:
            continue
        try:
            text = bytes(buf).decode().strip()
        except UnicodeError:
            text = "?"
        buf[:] = b""
        if text.startswith("hang ") and getattr(board, "test_hooks", False):
            # Test hook (unix `--test-hooks on`, config "test_hooks"): `hang console` stops
            # this task for good, the loop runs on; `hang loop` stops everything.
            writer.write(b"ok " + text.encode() + b"\n")
            await writer.drain()
            while text[5:] == "loop":
                pass
            await asyncio.Event().wait()
        for reply in handle(app, board, text):
            writer.write(reply.encode() + b"\n")
            await writer.drain()
        board.tx_ready.set()


async def tick_task(app, board):
    import asyncio
    while True:
        await asyncio.sleep_ms(TICK_MS)
        beat("tick")
        app.tick()
        feed(app, board)
        if app.tx_queue or getattr(app, "wan_queue", None):
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
    from firmware.lib import xbee
    from firmware.switch.console import handle
    coros = [asyncio.create_task(stream_task("radio", app, board, board.radio_reader, rx_buffer,
                                             xbee.decode, app.on_frame, app.on_skipped)),
             asyncio.create_task(tx_task(app, board)),
             asyncio.create_task(console_task(app, board, handle)),
             asyncio.create_task(tick_task(app, board))]
    for coro in board.tasks(app):
        coros.append(asyncio.create_task(coro))
    start(app, board)
    await asyncio.gather(*coros)


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


async def run_hub(board):
    import asyncio
    from firmware.commshub import console as hub_console
    from firmware.commshub.wan import decode as wan_decode
    from firmware.lib import xbee
    gc.collect()
    radio_buf = bytearray(_RX_BUFFER)
    wan_buf = bytearray(_RX_BUFFER)
    board.tx_ready = asyncio.Event()
    app = hub_setup(board)
    board.tx_ready.set()
    gc.collect()
    coros = (
        asyncio.create_task(stream_task("radio", app, board, board.radio_reader, radio_buf,
                                        xbee.decode, app.on_frame, app.on_skipped)),
        asyncio.create_task(stream_task("wan", app, board, board.wan_reader, wan_buf,
                                        wan_decode, app.on_wan, app.on_wan_skipped)),
        asyncio.create_task(tx_task(app, board)),
        asyncio.create_task(console_task(app, board, hub_console.handle)),
        asyncio.create_task(tick_task(app, board)))
    start(app, board)
    await asyncio.gather(*coros)


# -- boot: reset cause, safe boot, Ctrl-C ---------------------------------------------------

def start(app, board):
    """After boot: count a watchdog reset in flash (the count survives resets; `boot` shows
    it), then start the watchdog: only now, so a slow boot (a long log) cannot trip it."""
    cause = board.reset_cause  # "watchdog" or "power"
    raw = app.store.load("boot")  # the watchdog resets so far
    n = int(raw) if raw else 0
    if cause == "watchdog":
        n += 1
        app.store.save("boot", b"%d" % n)
        app.log.append("reset", "watchdog n=%d" % n)
    board.boot = "boot reset_cause=%s watchdog_resets=%d" % (cause, n)
    # Collect each time a quarter of the free heap has been allocated, not only when an
    # allocation fails: garbage no longer piles up between long-lived objects, which keeps
    # the free space in large blocks (bench/firmware_heap.py measures it; docs/firmware.md,
    # Memory, has its figures).
    gc.collect()
    gc.threshold(gc.mem_free() // 4)
    board.watchdog.start()


def main():
    board = load_board()  # the relay is released first thing in the board's constructor
    from firmware.lib.heap import unlock_heap  # now: the stop path may find the heap locked
    _running["board"] = board
    import os
    unix = board.name == "unix"
    write = board.console_writer.s.write if hasattr(board, "console_writer") else sys.stdout.write
    try:  # safe boot: a `safeboot` file in the flash root, or the board's safe pin held low
        # (relative on a board: its working directory is the flash root, /flash on an XBee)
        os.stat(board.storage_root + "/safeboot" if unix else "safeboot")
        safe = True
    except OSError:
        safe = getattr(board, "safe", False)
    if safe:
        wdt = getattr(board, "watchdog", None)
        if wdt is not None:
            wdt.stop()  # a soft reset (Ctrl-D) leaves the last run's rp2 watchdog running
        write(b"safe boot: the application is not started, the watchdog is off "
              b"(remove the safeboot file to run it)\n")
        if unix:
            raise SystemExit(91)  # the virtual board starts the port's REPL on the console
        return  # MicroPython's REPL follows
    import asyncio
    try:
        if getattr(board, "role", None) == "commshub":
            # The Comms Hub role (firmware/commshub, docs/commshub.md): its own app and tasks.
            asyncio.run(run_hub(board))
        elif hasattr(board, "loop"):
            board.loop(setup(board))  # boards without asyncio poll in their own loop
        else:
            asyncio.run(run(board))
    except KeyboardInterrupt:
        # Ctrl-C (mpremote sends one): the app stops with the relay released; the watchdog
        # stops where the port can (rp2), else the board resets within its period.
        unlock_heap()  # a Ctrl-C in a collection can leave it locked (firmware/lib/heap.py)
        board.outputs.set(False, 0)
        wdt = getattr(board, "watchdog", None)  # none on the xbee3: its WDT cannot stop
        write(b"stopped: relay released, watchdog off\n" if wdt is not None and wdt.stop() else
              b"stopped: relay released; the watchdog cannot be stopped here and resets the "
              b"board soon: create the safeboot file to stay at the REPL\n")


main()
