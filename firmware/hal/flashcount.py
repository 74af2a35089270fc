# NOR flash with the Pico's geometry that counts its erases, as a littlefs block device:
# bench/firmware_wear_driver.py holds it in RAM; the unix board (`GBHAN_WEAR` set: an image
# file) keeps it in a file that outlives a power cut, so the rig can count a running board's
# erases (the console's `wear`). Never used on a real board.
#
# An erase sets a block to 0xFF and is counted; a program only clears bits, as on the chip
# (a program over unerased bytes would show up as corruption).

BLOCK = 4096  # the RP2040's flash erase sector
PROG = 256  # its page: the rp2 port mounts littlefs with progsize=256
BLOCKS = 352  # 1.4 MB: the Pico's MicroPython filesystem (1,408 KiB)


class CountingFlash:
    def __init__(self, blocks, image=None):
        """In RAM, or in `image` (a file opened "r+b", blocks * BLOCK bytes)."""
        self.n = blocks
        self.f = image
        self.data = None if image else bytearray(b"\xff" * (blocks * BLOCK))
        self.erases = None if image else [0] * blocks  # per block: in RAM only (heap)
        self.count = 0
        self.programs = 0
        self._page = bytearray(PROG)  # file mode: one page at a time, nothing allocated

    def readblocks(self, block, buf, off=0):
        start = block * BLOCK + off
        d = self.data
        if d is not None:
            buf[:] = d[start:start + len(buf)]
        else:
            self.f.seek(start)
            self.f.readinto(buf)

    def writeblocks(self, block, buf, off=None):
        start = block * BLOCK + (off or 0)
        self.programs += 1
        d = self.data
        if d is not None:
            for i in range(len(buf)):
                d[start + i] &= buf[i]
            return
        page = self._page
        for at in range(0, len(buf), PROG):
            n = min(PROG, len(buf) - at)
            view = memoryview(page)[:n]
            self.f.seek(start + at)
            self.f.readinto(view)
            for i in range(n):
                page[i] &= buf[at + i]
            self.f.seek(start + at)
            self.f.write(view)

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return BLOCK
        if op == 6:
            start = arg * BLOCK
            if self.data is not None:
                self.data[start:start + BLOCK] = b"\xff" * BLOCK
            else:
                page = self._page
                for i in range(PROG):
                    page[i] = 0xFF
                for at in range(0, BLOCK, PROG):
                    self.f.seek(start + at)
                    self.f.write(page)
            self.count += 1
            if self.erases is not None:
                self.erases[arg] += 1
        return 0

    def total(self):
        return self.count


def mount(board, path):
    """The unix board's flash as a counting littlefs image in the file `path` (made and
    formatted if new), mounted at /wear, its counts on the console's `wear` (from 0 each
    boot)."""
    import vfs
    try:
        f = open(path, "r+b")
        new = False
    except OSError:
        f = open(path, "w+b")
        new = True
    flash = CountingFlash(BLOCKS, f)
    if new:
        for block in range(BLOCKS):
            flash.ioctl(6, block)
        vfs.VfsLfs2.mkfs(flash, progsize=PROG)  # type: ignore[arg-type]  # a block device by protocol
        flash.count = flash.programs = 0
    vfs.mount(vfs.VfsLfs2(flash, progsize=PROG), "/wear")  # type: ignore[abstract, arg-type]
    # The console's `wear`, added here so a board without this module spends nothing on it:
    # the roles' consoles import common() after the board is made, so they get this one.
    from firmware.lib import console

    inner = console.common

    def common(app, board, cmd, args):
        if cmd == "wear":
            return ["wear erases=%d programs=%d" % (flash.total(), flash.programs)]
        return inner(app, board, cmd, args)

    console.common = common
    return "/wear"
