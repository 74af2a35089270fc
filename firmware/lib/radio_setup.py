# Radio bring-up, the part for a radio that is not right (radio_app.bring_up loads it only
# then, and drops it after): set what differs in API mode and save, find a radio in
# transparent mode, or report on the console, count and retry with back-off. A radio that is
# right never gets here, so never gets a write: WR wears its flash.
#
# Facts from Digi's XBee 3 Zigbee user guide: a factory-fresh radio is in transparent mode
# (AP=0) at 9600 baud (BD=3) and sends API frames over the air as payload; it enters command
# mode on "+++" with a second of silence (GT) before and after, answers "OK\r", then takes
# "ATxx\r" (read: the value in hex) and "ATxx v\r" (set: "OK\r"); WR saves, CN leaves command
# mode and applies AP and BD. In API mode a 0x08 frame reads or (with a parameter) sets and
# applies at once, answered by 0x88.
#
# Every name and short string here becomes a qstr for good once loaded, and the 64-bit port's
# qstr pool grows in ~7 KB steps: so the functions reuse names the firmware already has
# (output, at_command, apply, command, send), texts for the radio are bytes, and the states
# are words already known ("quiet", "rejected").

from micropython import const
import asyncio

from firmware.lib import xbee

_GUARD_MS = const(1100)  # GT (1 s by default) of silence before and after "+++"
_BACKOFF_MS = const(5000)  # then doubling, to 5 minutes


def output(board, text):
    """An unsolicited console line (the rig keeps them apart from answers)."""
    board.console_writer.s.write(text.encode() + b"\n")


async def at_command(app, board, command, value=None):
    """One local AT command (0x08), two tries of a second: (status, value) or None."""
    pending = app._pending
    for _ in (0, 1):
        pending[command] = None
        app.queue_frame(xbee.at_command(app.next_frame_id(), command,
                                        b"" if value is None else bytes((value,))))
        board.tx_ready.set()
        for _ in range(50):
            await asyncio.sleep_ms(20)
            r = pending[command]
            if r:
                del pending[command]
                return r[2], int.from_bytes(r[3], "big")
    del pending[command]
    return None


async def apply(app, board, spec):
    """In API mode: read each setting, set what differs, then save (WR) and read all again.
    "" when all are right, None when the first got no answer, else what is wrong."""
    changed = ""
    for again in (0, 1):
        for command, value in spec:
            r = await at_command(app, board, command)
            if r is None:
                return None if not (again or changed) and command == spec[0][0] else (
                    "no answer to AT" + command)
            if r[0] or r[1] != value:
                if again or r[0]:
                    return "AT%s reads %d (status %d)" % (command, r[1], r[0])
                s = await at_command(app, board, command, value)
                if not s or s[0]:
                    return "AT%s %d refused" % (command, value)
                output(board, "radio: %s=%d -> set %s=%d" % (command, r[1], command, value))
                changed += " " + command
        if not changed:
            return ""
        if not again:
            await at_command(app, board, b"WR".decode())
    app.log.append("radio", "set" + changed)
    return ""


async def send(board, frame, ms=1000):
    """Write `frame` in command mode; its answer up to the carriage return (b"" if none)."""
    reader = board.radio_reader
    reader._buf = bytearray()
    board.radio_writer.write(frame)
    board.tx_ready.set()  # the tx task drains what the write left
    for _ in range(ms // 20):
        await asyncio.sleep_ms(20)
        n = reader._buf.find(b"\r")
        if n >= 0:
            return bytes(reader._buf[:n]).strip()
    return b""


async def command(board, value):
    """Command mode: "+++" at `value` baud; a radio in transparent mode answers; set AP=2 and
    our BD (hex, as command mode reads and writes numbers), save, leave (which applies them)."""
    board.set_baud(value)
    board.radio_reader._buf = bytearray()
    try:
        await asyncio.sleep_ms(_GUARD_MS)
        if await send(board, b"+++", _GUARD_MS + 1500) != b"OK":
            return False
        code = {9600: 3, 57600: 6, 115200: 7, 230400: 8}.get(board.baud, 7)
        for name, target in ((b"AP", b"2"), (b"BD", b"%X" % code)):
            now = await send(board, b"AT" + name + b"\r")
            if now != target:
                await send(board, b"AT" + name + b" " + target + b"\r")
                output(board, "radio: %s=%s -> set %s=%s (command mode, %d baud)" % (
                    name.decode(), now.decode(), name.decode(), target.decode(), value))
        await send(board, b"ATWR\r")
        await send(board, b"ATCN\r")
        return True
    finally:
        board.radio_reader._buf = None
        board.set_baud(board.baud)


async def bring_up(app, board, spec):
    """Until the radio is right: set it in API mode, else look for it in command mode at our
    baud and the factory 9600, else report, count and wait. Then reset the board."""
    delay = _BACKOFF_MS
    while True:
        why = await apply(app, board, spec)
        if why == "":
            # Right now: restart, as a real board would, and find it so on the resident path;
            # loading and dropping this module left the heap fragmented (at 104 KB a later
            # 640-byte commit failed until the next boot). The log's batch goes first.
            app.log.flush()
            board.console_writer.s.write(b"radio: right now; restarting without the setup\n")
            board.reset(92)  # unix: exit 92, which the virtual board boots again
        if why is None and app.counters["rx"]:
            why = "API frames but no answer to AT"  # never blind the reader to frames
            app.radio_state = "quiet"
        elif why is None:
            if await command(board, board.baud) or await command(board, 9600):
                continue  # check again, now in API mode
            why = "no answer on uart at %d/9600 baud (check wiring, API mode)" % board.baud
            app.radio_state = "quiet"
        else:
            app.radio_state = "rejected"
        output(board, "radio: %s; retry in %d s" % (why, delay // 1000))
        why = "radio-silent" if app.radio_state == "quiet" else "radio-refused"
        app.counters[why] = app.counters.get(why, 0) + 1
        if delay == _BACKOFF_MS:
            app.log.append("radio", app.radio_state)  # once: the log is on flash
        await asyncio.sleep_ms(delay)
        delay = min(delay * 2, 300000)
