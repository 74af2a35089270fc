"""The ESME charging its import in prepayment mode (emulator/devices/esme/consumption.py), on
the real meter of an RTDS premises: the energy at TOU rate 1's price out of the meter balance,
the standing charge and the time-based debts over time (never more debt than remains), credit
mode charging nothing, the alerts GBCS's generic forms carry (signed GCA, MAC'd GNCA, each
verifying), and the supply interlock: at the disablement threshold the supply is disconnected
and RTDS's 7.3 arm refused, until the credit is above it again."""

from __future__ import annotations

import pytest
from construct import Container, ListContainer

from emulator import data
from emulator.clock import Clock
from emulator.devices.esme import consumption as c
from emulator.devices.esme.instructions import item
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.alerts import interpret_dlms
from gbcs.message import encode_apdu
from gbcs.security import check_message, mac_apdu, sign

RTDS = data.rtds()
ARM = RTDS / "7.3_ECS44" / "ECS44_7.3_SUCCESS_COMMAND_GBCS.HEX"
SUPPLIER = bytes.fromhex("90B3D51F30010000")
RTDS_PRICE, RTDS_STANDING, RTDS_DEBTS = 2121, 20000, (5000, 6000)  # cosem_defaults.json


@pytest.fixture(scope="module")
def keys():
    return PremisesKeys.open()


def _run(keys, scenario):
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            return await scenario(clock, premises, premises.esme, alerts)
        finally:
            await premises.close()

    return clock.run(main)


def _value(esme, key):
    return int(esme.store.get(*key).value)


def _set(esme, key, value):
    esme.store.set(*key, item("double-long", value))


def _arm(keys, counter: int) -> bytes:
    """RTDS's ECS44 sent again with `counter`, signed by its Supplier and MAC'd."""
    message = decode(bytes.fromhex(ARM.read_text().strip()))
    header = message.header
    header.transaction_id.counter = counter
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    signed = sign(encode_apdu(header, content, None), keys.signer(bytes(message.originator)))
    return mac_apdu(signed, keys.keystore)  # the ACB's wrapper, as the DSP sends it


def test_energy_is_charged_at_tou_rate_1_and_the_register_rises(keys):
    async def scenario(clock, premises, esme, alerts):
        before = _value(esme, c.METER_BALANCE)
        register = int(esme.store.get(*c.IMPORT_REGISTERS).value[0].value)
        esme.consumption.import_energy(1000)  # the first charge: no time has passed
        return before, _value(esme, c.METER_BALANCE), register, esme.store

    before, after, register, store = _run(keys, scenario)
    assert before - after == RTDS_PRICE  # 1 kWh at 2121 (price scale -5)
    assert int(store.get(*c.IMPORT_REGISTERS).value[0].value) == register + 1000


def test_a_day_takes_the_standing_charge_and_the_time_debts(keys):
    async def scenario(clock, premises, esme, alerts):
        esme.consumption.import_energy(0)
        debts = [_value(esme, (113, code, c.REMAINING)) for code in c.TIME_DEBTS]
        before = _value(esme, c.METER_BALANCE)
        await clock.sleep(86400)
        esme.consumption.import_energy(0)
        after = [_value(esme, (113, code, c.REMAINING)) for code in c.TIME_DEBTS]
        return before - _value(esme, c.METER_BALANCE), [
            d - a for d, a in zip(debts, after, strict=True)
        ]

    charged, recovered = _run(keys, scenario)
    assert recovered == list(RTDS_DEBTS)
    assert charged == RTDS_STANDING + sum(RTDS_DEBTS)


def test_no_more_debt_is_taken_than_remains(keys):
    async def scenario(clock, premises, esme, alerts):
        first = (113, c.TIME_DEBTS[0], c.REMAINING)
        _set(esme, first, 1000)
        esme.consumption.import_energy(0)
        await clock.sleep(86400)
        esme.consumption.import_energy(0)
        return _value(esme, first)

    assert _run(keys, scenario) == 0


def test_credit_mode_charges_nothing(keys):
    async def scenario(clock, premises, esme, alerts):
        mode = esme.store.get(*c.MODE_AND_STATUS)
        mode.value[0] = item("enum", 1)  # credit mode
        esme.store.set(*c.MODE_AND_STATUS, item("structure", ListContainer(mode.value)))
        before = _value(esme, c.METER_BALANCE)
        esme.consumption.import_energy(5000)
        await clock.sleep(86400)
        esme.consumption.import_energy(5000)
        return before, _value(esme, c.METER_BALANCE), esme.consumption.imported_wh

    before, after, imported = _run(keys, scenario)
    assert before == after and imported == 10000


def test_negative_import_is_refused(keys):
    async def scenario(clock, premises, esme, alerts):
        with pytest.raises(ValueError):
            esme.consumption.import_energy(-1)
        return _value(esme, c.METER_BALANCE)

    assert _run(keys, scenario) == 250000  # RTDS's, untouched


def test_low_credit_alert_is_a_macd_generic_non_critical_alert_sent_once(keys):
    async def scenario(clock, premises, esme, alerts):
        # RTDS's balance (2.50) is below RTDS's low credit threshold (5.00)
        first = esme.consumption.import_energy(10)
        second = esme.consumption.import_energy(10)
        return first, second, list(alerts)

    first, second, alerts = _run(keys, scenario)
    assert first == [c.LOW_CREDIT] and second == []
    [alert] = alerts
    message = decode(alert)
    assert message.message_code == c.GNCA and message.target == SUPPLIER
    assert interpret_dlms(message.message_code, message.payload.notification.value).alert_code \
        == c.LOW_CREDIT  # fmt: skip
    assert check_message(message, keys.keystore).outcome == "verified"


def test_the_interlock_disconnects_refuses_arming_and_lifts_with_credit(keys):
    async def scenario(clock, premises, esme, alerts):
        threshold = c.disablement_threshold(esme.store)  # RTDS's: -5.00
        _set(esme, c.METER_BALANCE, threshold + 100)
        raised = esme.consumption.import_energy(1000)  # 2121 takes it past the threshold
        state = _value(esme, c.CONTROL_STATE)
        refused = await premises.execute(_arm(keys, 10**9))
        _set(esme, c.METER_BALANCE, 0)  # a top-up's worth (1.5, 2.2)
        armed = await premises.execute(_arm(keys, 10**9 + 1))
        return raised, state, refused, armed, _value(esme, c.CONTROL_STATE), list(alerts)

    raised, state, refused, armed, after, alerts = _run(keys, scenario)
    assert c.BELOW_DISABLEMENT in raised and state == c.DISCONNECTED
    assert [str(r.result) for r in decode(refused.response).payload.results] == ["other_reason"]
    assert [str(r.result) for r in decode(armed.response).payload.results] == ["success"]
    assert after == 2  # armed: ready for reconnection
    critical = [decode(a) for a in alerts if decode(a).message_code == c.GCA]
    assert len(critical) == 1 and check_message(critical[0], keys.keystore).outcome == "verified"


def test_a_low_credit_alert_the_supplier_turned_off_is_counted_not_sent(keys):
    """6.22's behaviours decide (alert_behaviour.py): every Supplier alert bit off."""
    sent = (1, bytes((0, 30, 97, 98, 15, 255)), 2)  # 0-30:97.98.15: alerts sent to the Supplier

    async def scenario(clock, premises, esme, alerts):
        esme.store.set(*sent, item("bit-string", Container(bits=256, octets=bytes(32))))
        raised = esme.consumption.import_energy(10)
        return raised, list(alerts), esme.stats[f"alert-off:{c.LOW_CREDIT:04X}"]

    raised, alerts, counted = _run(keys, scenario)
    assert raised == [] and alerts == [] and counted == 1
