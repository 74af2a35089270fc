"""A tamper at the meter, in normal operation (emulator/devices/esme/supply.py, meter.py): the
ESME alerts its Supplier 8F3F (tamper detected, a GCA the meter signs) and, where the supply
tamper state 6.25 sets is Locked (RTDS's meter starts so), disconnects the supply and alerts
81BE (supply disabled then locked, a GNCA it MACs); Unlocked, the supply is left as it is.
Through the DSP the alerts reach the Supplier as DeviceAlertMessages."""

from __future__ import annotations

import pytest
from dsp_helpers import with_real_premises
from lxml import etree

from emulator.backoffice import duis
from emulator.backoffice.premises_factory import build_premises
from emulator.clock import Clock
from emulator.devices.esme.instructions import item
from emulator.devices.esme.supply import (
    CONNECTED,
    CONTROL_STATE,
    DISCONNECTED,
    SUPPLY_TAMPER_STATE,
)
from gbcs import decode
from gbcs.security import check_message

SR = duis.SR
SUPPLIER = bytes.fromhex("90B3D51F30010000")


def _tamper(locked: bool):
    """Tamper at the RTDS premises with the supply tamper state as given: (the codes the
    meter sent, the alerts the premises passed on, the supply's control state after, the
    premises' keystore)."""
    clock = Clock("simulated")

    async def main():
        premises = await build_premises(clock)
        try:
            store = premises.esme.store
            store.set(*SUPPLY_TAMPER_STATE, item("boolean", 0xFF if locked else 0x00))
            store.set(*CONTROL_STATE, item("enum", CONNECTED))
            alerts: list[bytes] = []
            premises.on_alert(alerts.append)
            codes = premises.tamper()
            return codes, alerts, int(store.get(*CONTROL_STATE).value), premises.keys.keystore
        finally:
            await premises.close()

    return clock.run(main)


@pytest.mark.parametrize("locked,codes,state", [
    (True, [0x8F3F, 0x81BE], DISCONNECTED),
    (False, [0x8F3F], CONNECTED),
])  # fmt: skip
def test_a_tamper_alerts_the_supplier_and_locks_the_supply_where_told(locked, codes, state):
    sent, alerts, after, keys = _tamper(locked)
    assert sent == codes and after == state
    assert len(alerts) == len(codes)
    for raw, code in zip(alerts, codes, strict=True):
        message = decode(raw)
        assert message.cra == "alert" and bytes(message.target) == SUPPLIER
        assert check_message(message, keys).outcome == "verified"
        # 8Fxx: critical, signed by the meter; 81xx: MAC'd
        assert (message.signature is not None and len(message.signature) == 64) is (
            code >> 8 == 0x8F
        )
        assert int(message.payload.notification.value[0].value) == code


def test_through_the_dsp_the_supplier_gets_each_alert(schema, trusted, dsp):
    clock = Clock("simulated")

    async def main():
        dsp_, premises = await with_real_premises(schema, trusted, dsp, clock)
        try:
            sent = premises.tamper()
            await dsp_.drain()
            return sent, dsp_.delivery.documents.get(SUPPLIER, [])
        finally:
            await premises.close()

    sent, documents = clock.run(main)
    codes = [etree.fromstring(d).findtext(f".//{{{SR}}}AlertCode") for d in documents]
    assert codes == [f"{c:04X}" for c in sent] == ["8F3F", "81BE"]
