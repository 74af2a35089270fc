"""Power drivers: the USB relay driver writes the configured byte sequences to a real serial
port (a pty standing in for the relay board's CH340), gates the radio while the board is off
and waits for the board to boot; the manual driver asks the operator at each step."""

from __future__ import annotations

import os
import select
import tty

import pytest

from hil.address import parse_power
from hil.power import ManualPower, PowerError, UsbRelayPower, open_power


class _Radio:
    def __init__(self):
        self.gates = []

    def gate(self, open_):
        self.gates.append(open_)


class _BoardStub:
    """Only what a power driver touches on a DUT (the real Dut is covered by the suite)."""

    virtual = False

    def __init__(self, boots=True):
        self.radio = _Radio()
        self.boots = boots
        self.events = []

    def wait_boot(self, timeout):
        self.events.append("wait_boot")
        if not self.boots:
            raise RuntimeError("no answer")

    def after_boot(self):
        self.events.append("after_boot")


@pytest.fixture
def relay_port():
    """A pty: the driver opens the slave path as it would /dev/ttyUSB1; we read the master."""
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


def _read(master, count):
    data = b""
    while len(data) < count and select.select([master], [], [], 2)[0]:
        data += os.read(master, 64)
    return data


@pytest.mark.parametrize(
    "query, on, off",
    [("", "a00101a2", "a00100a1"), ("?on=FF0101&off=FF0100", "ff0101", "ff0100")],
    ids=["lcus-1", "custom"],
)
def test_usb_relay_sends_the_configured_bytes(relay_port, query, on, off):
    master, path = relay_port
    board = _BoardStub()
    driver = UsbRelayPower(
        board,
        parse_power(
            f"usb-relay://{path}{query}&settle=0" if query else f"usb-relay://{path}?settle=0"
        ),
    )
    driver.off()
    assert _read(master, len(off) // 2).hex() == off
    assert board.radio.gates == [False] and not driver.powered
    driver.on()
    assert _read(master, len(on) // 2).hex() == on
    assert board.events == ["wait_boot", "after_boot"] and driver.powered
    assert driver.cuts == 1
    driver.close()


def test_usb_relay_reports_a_board_that_does_not_boot(relay_port):
    _master, path = relay_port
    driver = UsbRelayPower(_BoardStub(boots=False), parse_power(f"usb-relay://{path}?settle=0"))
    with pytest.raises(RuntimeError):
        driver.on()
    assert not driver.powered
    driver.close()


def test_usb_relay_on_a_missing_port_is_a_power_error():
    with pytest.raises(PowerError, match="ttyNOPE"):
        UsbRelayPower(_BoardStub(), parse_power("usb-relay:///dev/ttyNOPE"))


def test_manual_power_asks_the_operator_at_each_step():
    asked = []
    board = _BoardStub()
    driver = open_power("manual", board, asked.append)
    assert isinstance(driver, ManualPower)
    driver.cycle()
    assert [a.split()[0] for a in asked] == ["Cut", "Restore"]
    assert board.events == ["wait_boot", "after_boot"]


def test_manual_power_without_an_operator_is_refused():
    with pytest.raises(PowerError):
        open_power("manual", _BoardStub(), None)


def test_virtual_power_needs_a_virtual_board():
    with pytest.raises(PowerError):
        open_power("virtual", _BoardStub())
