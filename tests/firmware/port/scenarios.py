# Storage, event log and state machine scenarios, run on the unix port by the codec driver.
import os

from firmware.lib.eventlog import EventLog
from firmware.lib.storage import Store
from firmware.switch.state import SwitchState


def storage_roundtrip(root, payloads):
    store = Store(root)
    out = []
    for p in payloads:
        store.save("rec", p)
        out.append(store.load("rec"))
    return out


def _tear(path, keep):
    f = open(path, "rb")
    data = f.read()
    f.close()
    f = open(path, "wb")
    f.write(data[:keep])
    f.close()


def storage_torn(root, keep, generations):
    """Save `generations` records, tear the newest slot to `keep` bytes (a cut while it was
    rewritten); what does a fresh reader get?"""
    store = Store(root)
    for g in range(generations):
        store.save("rec", b"generation-" + str(g).encode() + b"-payload")
    newest = store._newest["rec"][0]
    _tear(store.path("rec.%d" % newest), keep)
    found = Store(root).load("rec")
    after = Store(root)  # and a save after the cut lands in the torn slot, keeping the other
    after.load("rec")
    after.save("rec", b"after-the-cut")
    return [found, Store(root).load("rec"), after._newest["rec"][0] == newest]


def storage_both_torn(root):
    store = Store(root)
    store.save("rec", b"generation-0")
    store.save("rec", b"generation-1")
    _tear(store.path("rec.0"), 10)
    _tear(store.path("rec.1"), 13)
    return Store(root).load("rec")


def log_wrap(path, segment, keep, count, last):
    log = EventLog(path, lambda: 77, segment=segment, keep=keep)
    for i in range(count):
        log.append("kind", "n=" + str(i))
    log.close()
    reopened = EventLog(path, lambda: 78, segment=segment, keep=keep)
    entries = [list(e) for e in reopened.last(last)]
    return [reopened.next_seq, entries, len(os.listdir(path))]


def log_torn(path, segment, tear_at):
    """Ten entries in segments of 60 bytes (three 16-byte records each, the last holds one);
    the byte at `tear_at` of one segment is damaged; the log is reopened and appended to."""
    log = EventLog(path, lambda: 5, segment=60, keep=8)
    for i in range(10):
        log.append("e", str(i))
    log.close()
    names = sorted(os.listdir(path), key=int)
    f = open(path + "/" + names[segment], "r+b")
    f.seek(tear_at)
    f.write(b"\xee")
    f.close()
    reopened = EventLog(path, lambda: 5, segment=60, keep=8)
    first = [e[0] for e in reopened.last(30)]
    reopened.append("after", "cut")
    reopened.close()
    again = EventLog(path, lambda: 5, segment=60, keep=8)
    return [first, [[e[0], e[2]] for e in again.last(30)]]


class _Ticks:
    def __init__(self):
        self.ms = 0

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b


def log_batches(path):
    """Entries wait in RAM until the batch is due (flush_ms after the first), full, or
    flushed; a reboot sees only what reached flash and never reuses a sequence number."""
    ticks = _Ticks()
    log = EventLog(path, lambda: 9, ticks, segment=120, keep=8, flush_ms=5000)
    out = []
    log.append("a")
    log.append("b")
    out.append([log.flushes, [e[2] for e in log.last(10)]])  # readable from RAM
    ticks.ms = 4999
    log.tick()
    out.append(log.flushes)
    ticks.ms = 5000
    log.tick()
    out.append(log.flushes)
    for i in range(9):  # 14-byte records: 8 fill a 120-byte batch
        log.append("c%d" % i)
    out.append(log.flushes)
    log.append("lost")  # never flushed: the power goes
    rebooted = EventLog(path, lambda: 9, ticks, segment=120, keep=8)
    out.append([[e[0], e[2]] for e in rebooted.last(20)])
    out.append(rebooted.next_seq)
    return out


def log_listing_across_flushes(path, appends, tick_at):
    """A `log` listing walks the log while the board goes on appending (the console yields
    between lines): each line sent, one more entry, until `appends` were made; the batch
    fills and flushes mid-walk, and at line `tick_at` a due batch is flushed by the tick.
    Returns (sequence numbers there before the walk, the ones it yielded)."""
    ticks = _Ticks()
    log = EventLog(path, lambda: 9, ticks, segment=120, keep=8, flush_ms=5000)
    for i in range(11):
        log.append("e%d" % i)
    before = [e[0] for e in log.last(100)]
    listed = []
    made = 0
    for entry in log.last(100):
        listed.append(entry[0])
        if made < appends:
            log.append("n%d" % made)
            made += 1
        if len(listed) == tick_at:
            ticks.ms += 5000
            log.tick()
    return [before, listed]


def state_timeline(role, steps):
    """Apply [time, action, args...] steps; record output() after each."""
    s = SwitchState(role)
    out = []
    for step in steps:
        now, action = step[0], step[1]
        if action == "confirm":
            s.failsafe = False
        elif action == "command":
            s.command(step[2], step[3], step[4], "test")
        elif action == "boost":
            out.append(s.press_boost(now))
            continue
        elif action == "allow_boost":
            s.boost_allowed = step[2]
        elif action == "calendar":
            s.set_calendar(step[2])
        elif action == "reset":
            s.reset_to_calendar()
        s.expire(now)
        out.append(list(s.output(now)))
    return out


# -- flash-level power cuts: littlefs on a file-backed block device ---------------------------


class FileBlockDev:
    """4 KiB erase blocks in a file, like an RP2040/ESP32 flash partition. After `cut` block
    writes (or erases) the power is gone: later writes never reach the 'flash' (they are
    dropped, not raised: littlefs calls us with the heap locked, where raising fails)."""

    def __init__(self, path, blocks=32, cut=-1):
        self.bs = 4096
        self.n = blocks
        self.writes = 0
        self.dropped = 0
        self.cut = cut
        try:
            self.f = open(path, "r+b")
        except OSError:
            self.f = open(path, "w+b")
            self.f.write(b"\xff" * self.bs * blocks)
            self.f.flush()

    def _powered(self):
        if self.cut >= 0 and self.writes >= self.cut:
            self.dropped += 1
            return False
        self.writes += 1
        return True

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * self.bs + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if self._powered():
            self.f.seek(block * self.bs + (offset or 0))
            self.f.write(buf)
            self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6 and self._powered():
            self.f.seek(arg * self.bs)
            self.f.write(b"\xff" * self.bs)
            self.f.flush()
        return 0


def _mount(image, cut=-1, fresh=False):
    import vfs

    bdev = FileBlockDev(image, cut=cut)
    if fresh:
        vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/cutflash")
    return bdev


def _umount():
    import vfs

    try:
        vfs.umount("/cutflash")
    except OSError:
        pass


def littlefs_cut(image, cut):
    """Commit generation A and three log entries; then, with the power failing after `cut`
    block writes, save B and log two more; remount and report what a reboot finds."""
    try:
        os.remove(image)
    except OSError:
        pass
    _mount(image, fresh=True)
    store = Store("/cutflash/s")
    store.save("state", b"generation-A" * 40)
    log = EventLog("/cutflash/s/log", lambda: 1, segment=120, keep=4)
    for i in range(3):
        log.append("before", str(i))
    log.close()
    _umount()
    bdev = _mount(image, cut=cut)
    log = None
    try:
        store = Store("/cutflash/s")
        log = EventLog("/cutflash/s/log", lambda: 2, segment=120, keep=4)
        store.save("state", b"generation-B" * 40)
        log.append("after", "0")
        log.append("after", "1")
    except OSError:
        pass  # littlefs noticed its writes going nowhere: the device is dying anyway
    if log is not None:
        try:
            log.close()  # now, not in a finaliser after the "flash" is gone
        except OSError:
            pass
    completed = bdev.dropped == 0
    writes = bdev.writes
    _umount()
    _mount(image)  # the reboot (a fresh block device on the same image)
    state = Store("/cutflash/s").load("state")
    log = EventLog("/cutflash/s/log", lambda: 3, segment=120, keep=4)
    entries = [[e[0], e[2]] for e in log.last(16)]
    log.append("boot")  # the device can still write after the cut
    log.close()
    _umount()
    return [completed, writes, state[:12] if state else None, entries]


def ticks_across_the_wrap(before_ms, step_ms):
    """The unix board's clock with a 32-bit port's tick period (--ticks-wrap): ticks before
    and after `step_ms` that crosses the wrap, and the difference the HAL computes."""
    import time

    from firmware.hal.unix import Clock

    clock = Clock()
    clock.wrap = (0x40000000 - before_ms - time.ticks_ms()) & 0x3FFFFFFF
    a = clock.ticks_ms()
    clock.advance(step_ms)
    b = clock.ticks_ms()
    return [a, b, clock.ticks_diff(b, a), clock.ticks_diff(a, b)]
