"""The DSP's own tables: which use case the device pair decides, the request ledger, and
the inventory seeded from the DUIS templates and RTDS."""

from __future__ import annotations

import pytest
from backoffice_helpers import DUIS, RTDS, TEMPLATES

from emulator.backoffice import duis
from emulator.backoffice.dsp import choose_use_case
from emulator.backoffice.inventory import Device, InventoryError, rtds_inventory
from emulator.backoffice.replay import NotIssued, Replayed, RequestLedger

DEVICE_DECIDES = ("8.7.1", "8.7.2", "8.8.1", "8.8.2", "11.2")


@pytest.fixture(scope="module")
def inventory():
    return rtds_inventory(RTDS)


@pytest.mark.parametrize(
    "name", [p.name for p in TEMPLATES if p.name.split("_")[1] in DEVICE_DECIDES]
)
def test_use_case_chosen_from_inventory_matches_the_template(name, inventory):
    request = duis.parse_request(duis.parse((DUIS / name).read_bytes()))
    other_text = request.body.findtext(f"{{{duis.SR}}}OtherDeviceID")
    other = inventory.get(duis.eui_from_text(other_text)) if other_text else None
    chosen = choose_use_case(request.service_reference_variant,
                             inventory.get(request.request_id.target), other)  # fmt: skip
    expected = name.split("_")[0].replace("NonCritical", "").replace("Critical", "")
    assert chosen == expected


def test_every_template_device_is_in_the_inventory(inventory):
    for path in TEMPLATES:
        request = duis.parse_request(duis.parse(path.read_bytes()))
        assert request.request_id.target in inventory, path.name
        for tag in ("OtherDeviceID", "DeviceID"):
            text = request.body.findtext(f"{{{duis.SR}}}{tag}")
            if text:
                assert duis.eui_from_text(text) in inventory, (path.name, tag)


def test_method_c_partners_have_certificates(inventory):
    with_certificate = {d.eui.hex().upper() for d in inventory.devices.values() if d.certificate}
    assert with_certificate == {"00DB123456789098", "00DB123456789094"}


def test_inventory_refuses_bad_declarations(inventory):
    with pytest.raises(InventoryError):
        Device(b"\x00" * 8, "toaster", "rtds-premises")
    with pytest.raises(InventoryError):
        inventory.add(Device(bytes.fromhex("00DB1234567890A0"), "esme", "rtds-premises"))
    with pytest.raises(InventoryError):
        inventory.add(Device(b"\x00" * 8, "esme", "nowhere"))


def test_ledger():
    ledger = RequestLedger()
    ledger.accept("a")
    with pytest.raises(Replayed):
        ledger.accept("a")
    with pytest.raises(NotIssued):
        ledger.redeem("b")
    ledger.issue("a", b"pre", None)
    assert ledger.redeem("a").precommand == b"pre"
    with pytest.raises(Replayed):
        ledger.redeem("a")
