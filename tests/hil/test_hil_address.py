"""DUT and power addresses parse into what pyserial and the power drivers need; bad ones are
refused with an AddressError that names the address."""

from __future__ import annotations

import pytest
from hil_helpers import vectors

from hil.address import AddressError, parse_dut, parse_power

CASES = vectors("addresses")


@pytest.mark.parametrize("case", CASES["dut"], ids=[c["name"] for c in CASES["dut"]])
def test_dut_addresses(case):
    address = parse_dut(case["text"])
    assert (address.kind, address.url, address.baud) == (case["kind"], case["url"], case["baud"])
    assert address.console == case.get("console", "")
    assert address.virtual == (case["kind"] == "virtual")


@pytest.mark.parametrize("case", CASES["dut_bad"], ids=[c["name"] for c in CASES["dut_bad"]])
def test_bad_dut_addresses_are_refused(case):
    with pytest.raises(AddressError) as info:
        parse_dut(case["text"])
    assert case["text"] in str(info.value) or "empty" in str(info.value)


@pytest.mark.parametrize("case", CASES["power"], ids=[c["name"] for c in CASES["power"]])
def test_power_addresses(case):
    address = parse_power(case["text"])
    assert address.kind == case["kind"]
    if address.kind == "usb-relay":
        assert (address.port, address.baud) == (case["port"], case["baud"])
        assert (address.on.hex(), address.off.hex()) == (case["on"], case["off"])


@pytest.mark.parametrize("case", CASES["power_bad"], ids=[c["name"] for c in CASES["power_bad"]])
def test_bad_power_addresses_are_refused(case):
    with pytest.raises(AddressError) as info:
        parse_power(case["text"])
    assert case["text"] in str(info.value)
