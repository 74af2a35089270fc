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


def storage_torn(root, keep):
    """Save A then B, tear the final file to `keep` bytes; what does a reader get?"""
    store = Store(root)
    store.save("rec", b"generation-A")
    store.save("rec", b"generation-B-longer")
    path = store.path("rec")
    f = open(path, "rb")
    data = f.read()
    f.close()
    f = open(path, "wb")
    f.write(data[:keep])
    f.close()
    return store.load("rec")


def storage_torn_with_tmp(root):
    """A cut after writing .tmp but before the rename, with the old file torn (FAT)."""
    store = Store(root)
    store.save("rec", b"old")
    store.save("rec", b"new")
    os.rename(store.path("rec"), store.path("rec.tmp"))  # the complete new copy
    f = open(store.path("rec"), "wb")
    f.write(b"GR\x03")
    f.close()
    return store.load("rec")


def log_wrap(path, slots, count, last):
    log = EventLog(path, lambda: 77, slots)
    for i in range(count):
        log.append("kind", "n=" + str(i))
    log.close()
    reopened = EventLog(path, lambda: 78, slots)
    entries = [list(e) for e in reopened.last(last)]
    return [reopened.next_seq, entries]


def log_torn(path, tear_seq):
    log = EventLog(path, lambda: 5, 16)
    for i in range(10):
        log.append("e", str(i))
    log.close()
    f = open(path, "r+b")
    f.seek((tear_seq % 16) * 96 + 20)
    f.write(b"\x00garbage")
    f.close()
    reopened = EventLog(path, lambda: 5, 16)
    return [reopened.next_seq, [e[0] for e in reopened.last(16)]]


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
    log = EventLog("/cutflash/s/events.log", lambda: 1, 16)
    for i in range(3):
        log.append("before", str(i))
    log.close()
    _umount()
    bdev = _mount(image, cut=cut)
    log = None
    try:
        store = Store("/cutflash/s")
        log = EventLog("/cutflash/s/events.log", lambda: 2, 16)
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
    log = EventLog("/cutflash/s/events.log", lambda: 3, 16)
    entries = [[e[0], e[2]] for e in log.last(16)]
    log.append("boot")  # the device can still write after the cut
    log.close()
    _umount()
    return [completed, writes, state[:12] if state else None, entries]
