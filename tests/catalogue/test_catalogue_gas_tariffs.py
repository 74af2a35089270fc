"""The gas meter carries out the tariff (emulator/devices/gsme/commands.py): 1.2.1 (GCS01b:
tariff information and price matrix) and 1.1.1 (GCS01a: calendar, day and week profiles,
seasons, special days, tariff information, block thresholds, price matrix). RTDS's SUCCESS
commands answered with RTDS's header and payload, signed by the meter and verifying with its
certificate; its ERROR commands (the Price cluster's hardware failing, at GCS01a's second Price
command) answered as RTDS's: hardware_failure, then failure for the rest; the tariff kept as
sent. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import RTDS, read_hex

from emulator.backoffice.premises_factory import build_premises
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import PRICE
from gbcs import decode
from gbcs.primitives import datetime_to_seconds2000
from gbcs.render import plain
from gbcs.security import check_message

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FOLDERS = ("1.2.1_GCS01b", "1.1.1_GCS01a")
COMMANDS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS
                  for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
#: the Price commands RTDS's ERROR cases carry out before the hardware fails
CARRIED = {"GCS01b": 0, "GCS01a": 1}


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def test_every_variant_has_its_rtds_files():
    assert len(COMMANDS) == 8  # 3 SUCCESS and 1 ERROR each


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, meter, name):
    use_case = name.split("/")[0].split("_")[1]
    if "_ERROR_" in name:
        meter.commands.faults[PRICE] = CARRIED[use_case]
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(result.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _sent(name: str) -> dict:
    """The command's payloads by command name (profiles: the last of each)."""
    message = decode(read_hex(RTDS / name))
    return {str(c.body.frame.payload.command): c.body.frame.payload
            for c in message.payload.components}  # fmt: skip


def test_the_prices_are_kept(meter):
    name = "1.2.1_GCS01b/GCS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.commands.state.tariff.tariff_information is None
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    sent, tariff = _sent(name), meter.commands.state.tariff
    assert plain(tariff.tariff_information) == plain(sent["publish_tariff_information"])
    assert plain(tariff.price_matrix) == plain(sent["publish_price_matrix"])
    assert tariff.tariff_information.standing_charge == 22465
    assert tariff.calendar is None  # 1.2.1 leaves the calendar as it was


def test_the_calendar_and_block_tariff_are_kept(meter):
    name = "1.1.1_GCS01a/GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    sent, tariff = _sent(name), meter.commands.state.tariff
    for part in ("calendar", "seasons", "special_days", "tariff_information",
                 "block_thresholds", "price_matrix"):  # fmt: skip
        assert plain(getattr(tariff, part)) == plain(sent[f"publish_{part}"]), part
    message = decode(read_hex(RTDS / name))
    days = [c.body.frame.payload for c in message.payload.components
            if c.body.frame.payload.command == "publish_day_profile"]  # fmt: skip
    assert sorted(tariff.day_profiles) == sorted(int(d.day_id) for d in days)
    assert tariff.week_profiles


def test_a_failed_tariff_keeps_no_price_matrix(meter):
    meter.commands.faults[PRICE] = 0
    name = "1.2.1_GCS01b/GCS01b_1.2.1_FUTURE_DATED_BLOCK_ERROR_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    tariff = meter.commands.state.tariff
    assert tariff.tariff_information is None and tariff.price_matrix is None


ALERTS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS
                for p in RTDS.glob(f"{folder}/*_8F66_*_ALERT_*_GBCS.HEX"))  # fmt: skip
DUE = dt.datetime(2030, 1, 15, 9, tzinfo=dt.UTC)  # RTDS's future-dated tariffs' start


def _future_dated(folder: str) -> str:
    use_case, srv = folder.split("_")[1], folder.split("_")[0]
    return f"{folder}/{use_case}_{srv}_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX"


def _alerts_of(keys, folder: str) -> list:
    meter = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    assert meter.handle(read_hex(RTDS / _future_dated(folder))).outcome == "executed"
    assert meter.raise_due(DUE - dt.timedelta(seconds=1)) == []  # not before its start
    return [decode(a) for a in meter.raise_due(DUE)]


def test_every_future_dated_command_kind_has_an_rtds_alert():
    assert len(ALERTS) == 7  # GCS01b two, GCS01a five


def _kind(alert) -> tuple:
    executed = plain(alert.payload.executed_command)
    return executed["cluster_id"], executed["command_id"]


@pytest.mark.parametrize("name", ALERTS)
def test_a_future_dated_tariff_alerts_as_rtds(keys, name):
    """Each of RTDS's 8F66 alerts is one of ours (by the command it names), signed by the
    meter, to the command's originator, at the tariff's start."""
    expected = decode(read_hex(RTDS / name))
    ours = {_kind(a): a for a in _alerts_of(keys, name.split("/")[0])}
    got = ours[_kind(expected)]
    assert plain(got.payload) == plain(expected.payload)
    header, theirs = plain(got.header), plain(expected.header)
    header["transaction_id"].pop("counter"), theirs["transaction_id"].pop("counter")
    assert header == theirs
    assert check_message(got, keys.keystore).outcome == "verified"


@pytest.mark.parametrize("folder", FOLDERS)
def test_one_alert_per_future_dated_command_in_rtds_order(keys, folder):
    alerts = _alerts_of(keys, folder)
    expected = sorted((decode(read_hex(RTDS / n)) for n in ALERTS if n.startswith(folder)),
                      key=lambda a: a.counter)  # fmt: skip
    assert [plain(a.payload) for a in alerts] == [plain(e.payload) for e in expected]
    assert len({a.counter for a in alerts}) == len(alerts)


@pytest.mark.parametrize("variant", ("IMMEDIATE_TOU", "CANCELLATION_BLOCK"))
def test_immediate_and_cancelled_tariffs_alert_nothing(keys, meter, variant):
    name = f"1.1.1_GCS01a/GCS01a_1.1.1_{variant}_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    assert meter.pending == [] and meter.raise_due(DUE) == []


def test_a_cancellation_stops_the_pending_alerts(keys, meter):
    assert meter.handle(read_hex(RTDS / _future_dated("1.2.1_GCS01b"))).outcome == "executed"
    assert len(meter.pending) == 2
    name = "1.2.1_GCS01b/GCS01b_1.2.1_CANCELLATION_BLOCK_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    assert meter.pending == [] and meter.raise_due(DUE) == []


def test_a_failed_future_dated_tariff_alerts_nothing(keys, meter):
    meter.commands.faults[PRICE] = 0
    name = "1.2.1_GCS01b/GCS01b_1.2.1_FUTURE_DATED_BLOCK_ERROR_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    assert meter.raise_due(DUE) == []


def test_the_alerts_fire_on_the_meters_clock(keys):
    """Under a running clock the meter raises its alerts itself, at the start time, to its
    alert sink (the meter's clock an hour short of it: the simulated loop does not jump years)."""
    clock = Clock("simulated")
    start = DUE - dt.timedelta(hours=1)

    async def run():
        meter = GasMeter(GSME, keys, clock, lambda: start + dt.timedelta(seconds=clock.now()))
        sunk: list[bytes] = []
        meter.alert_sink = sunk.append
        assert meter.handle(read_hex(RTDS / _future_dated("1.2.1_GCS01b"))).outcome == "executed"
        await clock.sleep(3599)
        before = list(sunk)
        await clock.sleep(2)
        return before, sunk

    before, sunk = clock.run(run)
    assert before == [] and len(sunk) == 2
    assert {decode(a).payload.time_stamp for a in sunk} == {datetime_to_seconds2000(DUE)}


def test_the_premises_passes_the_gas_meters_alerts_on(keys):
    """The premises hands what its GSME raises on its own to every on_alert callback, as it
    does the ESME's: the DSP's alert path (a DeviceAlertMessage to the Gas Supplier). The
    alert is RTDS's future-dated 1.2.1 one, raised by a meter of RTDS's supplier."""
    clock = Clock("simulated")
    meter = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    assert meter.handle(read_hex(RTDS / _future_dated("1.2.1_GCS01b"))).outcome == "executed"
    alert = meter.raise_due(DUE)[0]

    async def run():
        premises = await build_premises(clock)
        sunk: list[object] = []
        premises.on_alert(sunk.append)
        assert premises.gas.gsme.alert_sink is not None
        premises.gas.gsme.alert_sink(alert)
        return sunk

    assert clock.run(run) == [alert]
