"""Devices by configuration and by the DUIS lifecycle: `Inventory.declare` (what 8.1.1, 12.2,
8.11 and joins call), the state directory keeping what was declared, and `gbhan dsp devices
add|list|remove` with the presets (RTDS's devices, always served, and DCC Boxed's own).

A device declared is known to the DSP at once (a request to it is no longer E19) and after a
restart on the same state; declaring it again the same way changes nothing, another type or
premises is refused; removed, it is unknown again.
"""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, signed_as
from test_backoffice_dsp_state import TEMPLATE_7_7, code_of

from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import (
    DCC_BOXED_DEVICES,
    ELECTRICITY_DISTRIBUTOR,
    Inventory,
    InventoryError,
    preset_devices,
    rtds_inventory,
)
from emulator.backoffice.state import DspState
from emulator.clock import Clock
from tools import cli

NEW_ESME = bytes.fromhex("00DB1234567890B0")


def test_declare_is_idempotent_and_refuses_a_change():
    inventory = rtds_inventory(RTDS)
    declared, removed = [], []
    inventory.on_declare.append(declared.append)
    inventory.on_remove.append(removed.append)
    device = inventory.declare(NEW_ESME, "esme", "new-premises")
    assert inventory.get(NEW_ESME) == device
    assert inventory.premises["new-premises"].electricity_distributor == ELECTRICITY_DISTRIBUTOR
    assert inventory.declare(NEW_ESME, "esme", "new-premises") is device
    assert declared == [device]  # the second declaration changed nothing
    with pytest.raises(InventoryError, match="is a esme in new-premises, not a gsme"):
        inventory.declare(NEW_ESME, "gsme", "new-premises")
    with pytest.raises(InventoryError, match="not a GBCS device type"):
        inventory.declare(bytes.fromhex("00DB1234567890B1"), "toaster")
    with pytest.raises(InventoryError, match="8 bytes"):
        inventory.declare(b"\x00\x01", "esme")
    assert inventory.remove(NEW_ESME) == device and removed == [NEW_ESME]
    assert inventory.get(NEW_ESME) is None and inventory.remove(NEW_ESME) is None


def test_presets():
    dccboxed = preset_devices("dccboxed")
    assert {d.eui.hex().upper(): d.device_type for d in dccboxed} == DCC_BOXED_DEVICES
    assert {d.premises for d in dccboxed} == {"dccboxed-premises"}
    assert len(preset_devices("rtds")) == len(rtds_inventory().devices)
    with pytest.raises(InventoryError, match="preset is one of"):
        preset_devices("nonsense")
    inventory = Inventory()
    for device in dccboxed:
        inventory.declare(device.eui, device.device_type, device.premises)
    assert len(inventory.devices) == 3


def requests_to(eui: bytes, supplier, counter: int) -> bytes:
    body = signed_as(TEMPLATE_7_7, "90B3D51F30010000", supplier, counter=counter)
    root = duis.parse(body)
    node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
    rid = duis.RequestId.parse(node.text)
    node.text = str(duis.RequestId(rid.originator, eui, rid.counter))
    return duis.to_bytes(xmlsig.sign(root, supplier))


def test_declared_devices_are_served_and_kept_across_a_restart(tmp_path, supplier):
    folder = tmp_path / "state"

    def life(action):
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        clock = Clock("wall", start_utc=GBCS_DATE)

        async def main():
            dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                           rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
            return await action(dsp)

        try:
            return clock.run(main)
        finally:
            state.close()

    async def first(dsp):
        before = code_of(await dsp.handle("serviceS", requests_to(NEW_ESME, supplier, 9300)))
        dsp.inventory.declare(NEW_ESME, "esme", "new-premises")  # as 12.2 would
        after = code_of(await dsp.handle("serviceS", requests_to(NEW_ESME, supplier, 9301)))
        await dsp.drain()
        return before, after

    async def second(dsp):
        known = dsp.inventory.get(NEW_ESME)
        dsp.inventory.remove(NEW_ESME)  # as a decommissioning would
        return known

    async def third(dsp):
        return code_of(await dsp.handle("serviceS", requests_to(NEW_ESME, supplier, 9302)))

    assert life(first) == ("E19", "I99")  # unknown, then known (no premises serves it yet)
    known = life(second)
    assert (known.device_type, known.premises) == ("esme", "new-premises")
    assert life(third) == "E19"


def test_devices_add_list_remove(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path / "state")]
    assert cli.main(["dsp", "devices", "add", "--preset", "dccboxed", *state]) == 0
    assert cli.main(["dsp", "devices", "add", "00-DB-12-34-56-78-90-B0", "--type", "esme",
                     "--premises", "flat-2", *state]) == 0  # fmt: skip
    assert cli.main(["dsp", "devices", "add", "--preset", "rtds", *state]) == 0
    capsys.readouterr()
    assert cli.main(["dsp", "devices", "list", *state]) == 0
    listed = capsys.readouterr().out
    assert "88-73-84-90-6A-10-02-DB  chf      dccboxed-premises     preset:dccboxed" in listed
    assert "00-DB-12-34-56-78-90-B0  esme     flat-2                configured" in listed
    assert "00-DB-12-34-56-78-90-A0  esme     rtds-premises         preset:rtds" in listed
    assert listed.count("00-DB-12-34-56-78-90-A0") == 1
    for refused in (["00DB1234567890A0", "--type", "esme"],  # RTDS's: always served
                    ["00DB1234567890B1", "--type", "toaster"], ["00DB1234567890B1"],
                    ["--preset", "nonsense"], ["nonsense", "--type", "esme"]):  # fmt: skip
        assert cli.main(["dsp", "devices", "add", *refused, *state]) == 2, refused
    assert cli.main(["dsp", "devices", "remove", "00DB1234567890B0", *state]) == 0
    assert cli.main(["dsp", "devices", "remove", "00DB1234567890B0", *state]) == 1
    capsys.readouterr()
    assert cli.main(["dsp", "devices", "list", *state]) == 0
    assert "90-B0" not in capsys.readouterr().out
    stored = DspState.open(tmp_path / "state", [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    try:
        assert {d.eui.hex().upper() for d, _s in stored.devices()} == set(DCC_BOXED_DEVICES)
    finally:
        stored.close()
