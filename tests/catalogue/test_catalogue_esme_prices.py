"""1.2.1 Update Price (Primary Element) at the ESME (critical ECS01b, emulator/devices/esme/
extended.py): the standing charge's and the price matrix's passive unit charges with their
activation times. The DSP's pre-commands from the four templates (TOU, block, future-dated
hybrid, its cancellation) are RTDS's byte for byte; RTDS's commands get RTDS's header and
payload, signed; prices taking effect now are the meter's active unit charges; future-dated
ones take effect at their time, alerting 8F66 per object as RTDS's two alerts; a
cancellation leaves the prices as they were."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

FOLDER = RTDS / "1.2.1_ECS01b"
VARIANTS = ("IMMEDIATE_TOU", "IMMEDIATE_BLOCK", "FUTURE_DATED_TOU_BLOCK", "CANCELLATION_TOU_BLOCK")
STANDING, MATRIX = bytes.fromhex("0000131404FF"), bytes.fromhex("0000131400FF")
#: the meter's time when the commands arrive: a day before RTDS's execution date-time
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)
SUPPLIER = bytes.fromhex("90B3D51F30010000")
#: the prices the meter starts with: RTDS's meter's, as its ECS24 (4.11.1) response shows
RTDS_PRICES = ({"": 20000}, {"01": 2121, "A1": 2289, "A2": 4002, "B1": 3546, "B2": 6969})


def _file(variant: str, kind: str = "COMMAND") -> bytes:
    return read_hex(FOLDER / f"ECS01b_1.2.1_{variant}_SUCCESS_{kind}_GBCS.HEX")


def _request(variant: str, counter: int, edit=None):
    name = f"ECS01b_1.2.1_{variant}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(variant):
    precommand = _file(variant, "PRECOMMAND")
    ours = transform(_request(variant, decode(precommand).counter), use_case="ECS01b")
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


def test_the_dsp_picks_ecs01b_for_an_electricity_price():
    request = _request("IMMEDIATE_TOU", 1)
    assert decode(transform(request).precommand()).message_code == 0x00A2


def test_a_tou_index_out_of_range_is_refused():
    def edit(root):
        root.find(f".//{{{duis.SR}}}TOUPrice").set("index", "49")

    with pytest.raises(Exception, match="TOUPrice index 49"):
        transform(_request("IMMEDIATE_TOU", 1, edit), use_case="ECS01b")


@pytest.mark.parametrize("variant", VARIANTS)
def test_rtds_command_is_answered_as_rtds(keys, variant):
    [execution], _ = execute(keys, [_file(variant)])
    assert execution.outcome == "executed", execution.outcome
    expected, got = decode(_file(variant, "RESPONSE")), decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed(keys, request) -> bytes:
    precommand = transform(request, use_case="ECS01b").precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _table(store, code: bytes) -> dict[str, int]:
    """The active unit charge's non-zero prices by index (hex)."""
    charge = store.get(113, code, 5)
    return {bytes(e.value[0].value).hex().upper(): int(e.value[1].value)
            for e in charge.value[2].value if int(e.value[1].value)}  # fmt: skip


def _standing_charge(value: str):
    def edit(root):
        root.find(f".//{{{duis.SR}}}StandingCharge").text = value

    return edit


def run(keys, commands: list[bytes], days: float = 0):
    """The commands on the eve of RTDS's execution date-time, then `days`: (executions,
    alerts, the standing charge and the price matrix before and after)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        store = premises.esme.store
        try:
            executions = [await premises.execute(c) for c in commands]
            before = (_table(store, STANDING), _table(store, MATRIX))
            await asyncio.sleep(days * 86400)
            after = (_table(store, STANDING), _table(store, MATRIX))
            return executions, alerts, before, after
        finally:
            await premises.close()

    return clock.run(main)


def test_prices_now_are_the_active_unit_charges(keys):
    tou = _signed(keys, _request("IMMEDIATE_TOU", 900, _standing_charge("21000")))
    block = _signed(keys, _request("IMMEDIATE_BLOCK", 901))
    executions, alerts, _, after = run(keys, [tou, block])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == []
    # the block tariff replaced the whole matrix: no TOU price is left
    assert after == ({"": 20000}, {"A1": 2361, "B1": 4289, "C1": 6566})


def test_the_tou_prices_are_set(keys):
    tou = _signed(keys, _request("IMMEDIATE_TOU", 900, _standing_charge("21000")))
    [execution], _, _, after = run(keys, [tou])
    assert execution.outcome == "executed"
    assert after == ({"": 21000}, {"01": 3221, "02": 4327, "03": 5744})


def test_future_dated_prices_take_effect_at_their_time_and_alert(keys):
    command = _signed(keys, _request("FUTURE_DATED_TOU_BLOCK", 1005))
    executions, alerts, before, after = run(keys, [command], days=2)
    assert executions[0].outcome == "executed"
    assert before == RTDS_PRICES  # not yet: the meter's prices are still its own
    assert after == ({"": 20000}, {"01": 3121, "A1": 3289, "B1": 4546, "A2": 5002, "B2": 7969})
    ours = sorted((decode(a) for a in alerts), key=lambda m: m.payload.notification.value[2].value)
    theirs = sorted((decode(read_hex(p)) for p in FOLDER.glob("*_8F66_*_ALERT_*")),
                    key=lambda m: m.payload.notification.value[2].value)  # fmt: skip
    assert len(ours) == len(theirs) == 2
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        assert plain(got.payload.notification) == plain(want.payload.notification)


def test_a_cancellation_leaves_the_prices(keys):
    future = _signed(keys, _request("FUTURE_DATED_TOU_BLOCK", 1004))
    cancel = _signed(keys, _request("CANCELLATION_TOU_BLOCK", 1005))
    executions, alerts, _before, after = run(keys, [future, cancel], days=2)
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == [] and after == RTDS_PRICES


def test_rtds_error_a_faulty_standing_charge_is_answered_as_rtds(keys):
    """RTDS's ERROR: both passive values taken, the standing charge's activation a hardware
    fault, the matrix's then other_reason; nothing takes effect."""
    name = "ECS01b_1.2.1_IMMEDIATE_ERROR_{}_GBCS.HEX"

    async def fault(premises):
        premises.esme.object_faults = {STANDING}

    [execution], premises = execute(keys, [read_hex(FOLDER / name.format("COMMAND"))],
                                    before=fault)  # fmt: skip
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(FOLDER / name.format("RESPONSE")))
    got = decode(execution.response)
    assert [int(r.result) for r in got.payload.results] == [0, 0, 1, 250]
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"
    assert _table(premises.esme.store, STANDING) == RTDS_PRICES[0]
    assert _table(premises.esme.store, MATRIX) == RTDS_PRICES[1]


def test_a_future_dated_price_whose_object_fails_alerts_8f67(keys):
    """The standing charge's storage fails by the date: the matrix takes effect (8F66), the
    standing charge does not (8F67, naming its activation time)."""
    clock = Clock("simulated")
    command = _signed(keys, _request("FUTURE_DATED_TOU_BLOCK", 1005))

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            execution = await premises.execute(command)
            premises.esme.object_faults = {STANDING}
            await asyncio.sleep(2 * 86400)
            store = premises.esme.store
            return execution, alerts, (_table(store, STANDING), _table(store, MATRIX))
        finally:
            await premises.close()

    execution, alerts, after = clock.run(main)
    assert execution.outcome == "executed"
    assert after[0] == RTDS_PRICES[0] and after[1]["A1"] == 3289
    codes = {bytes(decode(a).payload.notification.value[2].value)[-7:-1]: int(
        decode(a).payload.notification.value[0].value) for a in alerts}  # fmt: skip
    assert codes == {STANDING: 0x8F67, MATRIX: 0x8F66}
