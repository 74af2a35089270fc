"""The gas meter's commands (emulator/devices/gsme/commands.py): 3.1, 3.2, 3.4, 3.5, 6.20.1,
7.2, 7.3, 2.5, 2.3, 1.5, 6.6, 6.7 and the event logs' 6.13 and 3.3 as ZCL cluster commands
in GBZ; 6.11
/ 8.1.1 set clock and the device log's 8.7.x joins, 8.8.x unjoins and 8.9 read in ASN.1. The DSP's command from each
template is RTDS's (the issuer event id from the DSP's clock, RTDS's at its test time);
RTDS's SUCCESS commands answered with RTDS's header and payload (the critical ones signed by
the meter, verifying with its certificate; the others MAC'd byte for byte), its ERROR
commands (a hardware fault) with its hardware_failure; and the meter's state moves as the
commands say, shown by the matching read (6.2.7 MPRN, 7.4 valve, 4.18 balances).
Parametrised by use case and RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import GAS_COMMANDS, transform
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter, GasProxy
from emulator.devices.gsme.commands import DEVICE_MANAGEMENT, EVENTS, METERING, PREPAYMENT
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.primitives import datetime_to_seconds2000
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: the billing calendar's have their own tests (test_catalogue_billing_calendar.py)
USE_CASES = sorted(set(GAS_COMMANDS) - {"GCS25", "GCS25a", "GCS21d", "GCS21k"})
COMMANDS = sorted(
    str(p.relative_to(RTDS))
    for use_case, (srv, _) in GAS_COMMANDS.items()
    if use_case in USE_CASES
    for p in RTDS.glob(f"{srv}_{use_case}/*_COMMAND_GBCS.HEX")
)
#: the cluster each use case's RTDS ERROR case has failing
CLUSTER = {"GCS07": 0x0703, "GCS32": METERING, "GCS39": METERING, "CS10b": EVENTS,
           "CS11": EVENTS, "GCS23": 0x0700, "GCS24a": METERING}  # fmt: skip
CLUSTER.update({u: DEVICE_MANAGEMENT for u in ("GCS09", "GCS44", "GCS11", "GCS41")})


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


@pytest.fixture
def proxy(keys, meter):
    return GasProxy(GPF, meter, keys, lambda: RTDS_TIME)


def test_every_gas_command_has_rtds_files():
    # no ERROR for 3.2, no RTDS for CS10a, a NOT_FOUND case for CS10b
    assert len(USE_CASES) == 18 and len(COMMANDS) == 2 * len(USE_CASES) - 2


@pytest.mark.parametrize("use_case", [u for u in USE_CASES if u != "CS10a"])
def test_the_command_from_the_template_is_rtds(use_case):
    srv = GAS_COMMANDS[use_case][0]
    template = CATALOGUE / f"{use_case}_{srv}_SUCCESS_REQUEST_DUIS.XML"
    rtds = decode(read_hex(rtds_success(use_case)))
    root = duis.parse(template.read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case=use_case, now=RTDS_TIME)
    assert ours.critical == bool(rtds.signature)
    frames = [c.body.frame for c in decode(ours.unsigned_command()).payload.components]
    theirs = [c.body.frame for c in rtds.payload.components]
    if use_case == "GCS09":  # RTDS's date is not its template's: ours is the template's
        assert frames[0].payload.implementation_date_time == datetime_to_seconds2000(
            dt.datetime(2015, 2, 1, tzinfo=dt.UTC))  # fmt: skip
        theirs[0].payload.implementation_date_time = frames[0].payload.implementation_date_time
    assert plain(frames) == plain(theirs)
    if use_case != "GCS09":
        end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
        assert ours.content == bytes(rtds.apdu[rtds.content_offset - rtds.apdu_offset : end])


def test_the_dsp_picks_the_balance_use_case_by_the_body():
    rtds = decode(read_hex(rtds_success("GCS40a")))
    for use_case in ("GCS40a", "GCS40b", "GCS40c", "GCS40d"):
        root = duis.parse((CATALOGUE / f"{use_case}_1.5_SUCCESS_REQUEST_DUIS.XML").read_bytes())
        duis.set_originator(root, bytes(rtds.originator), rtds.counter)
        # the DSP names the first gas form for a GSME; the body decides among the four
        assert transform(duis.parse_request(root), use_case="GCS40a").use_case.name == use_case


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, meter, proxy, name):
    """By the GSME, or (3.2, the GPF's) the GPF at once."""
    use_case = name.split("/")[0].split("_")[1]
    if "_ERROR_" in name:  # RTDS's 2.3, 6.6 and 6.7 fail at their second command
        carried = int(use_case in ("GCS04", "GCS23", "GCS24a"))
        meter.commands.faults[CLUSTER.get(use_case, PREPAYMENT)] = carried
    if use_case == "GCS39":  # RTDS's meter arms a closed valve (its 7.4 shows one open)
        meter.attributes[(METERING, 0x0014)] = ("enum8", 0)
    result = (proxy if use_case == "GCS09" else meter).handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(result.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    if expected.signature is None:
        assert result.response == read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    else:
        assert check_message(got, keys.keystore).outcome == "verified"


def _read(keys, meter, use_case: str, counter: int) -> list:
    result = meter.handle(recounted(keys, read_hex(rtds_success(use_case)), counter))
    assert result.outcome == "executed", result.outcome
    return [r.value for c in decode(result.response).payload.components
            for r in c.body.frame.payload.records]  # fmt: skip


def _send(keys, meter, use_case: str, counter: int) -> object:
    result = meter.handle(recounted(keys, read_hex(rtds_success(use_case)), counter))
    assert result.outcome == "executed", result.outcome
    return decode(result.response).payload.components[0].body.frame.payload


def test_the_mprn_set_is_the_mprn_read(keys, meter):
    assert _read(keys, meter, "GCS46", 5000) == [b"1000999888"]
    _send(keys, meter, "GCS41", 5001)
    assert _read(keys, meter, "GCS46", 5002) == [b"1234567890"]


def test_the_valve_closes_and_arms(keys, meter):
    assert _read(keys, meter, "GCS33", 5000)[1] == 2  # on, as RTDS's meter
    _send(keys, meter, "GCS39", 5001)  # arming an open valve changes nothing
    assert _read(keys, meter, "GCS33", 5002)[1] == 2
    assert _send(keys, meter, "GCS32", 5003).supply_status == 0
    assert _read(keys, meter, "GCS33", 5004)[1] == 0
    assert _send(keys, meter, "GCS39", 5005).supply_status == 1
    assert _read(keys, meter, "GCS33", 5006)[1] == 1


def test_the_balances_adjust_and_reset(keys, meter):
    assert _read(keys, meter, "GCS60", 5000) == [3500000, 2500000]  # bill to date, credit
    _send(keys, meter, "GCS40a", 5001)  # prepayment +23130
    assert _read(keys, meter, "GCS60", 5002) == [3500000, 2523130]
    _send(keys, meter, "GCS40c", 5003)  # credit mode +5000000
    assert _read(keys, meter, "GCS60", 5004) == [8500000, 2523130]
    _send(keys, meter, "GCS40b", 5005)
    _send(keys, meter, "GCS40d", 5006)
    assert _read(keys, meter, "GCS60", 5007) == [0, 0]


def test_the_debts_and_the_other_settings_are_kept(keys, meter, proxy):
    for n, use_case in enumerate(("GCS04", "GCS07", "GCS44", "GCS11", "GCS06")):
        assert _send(keys, meter, use_case, 5000 + n).status == "success"
    assert _send(keys, proxy, "GCS09", 5005).status == "success"
    assert proxy.tenancy_from == 533098016
    state = meter.commands.state
    # added to the 5000 of each RTDS's meter starts with (its GCS14 shows them)
    assert [d.amount for d in state.debts.values()] == [1005000, 505000, 1005000]
    assert (state.debts[1].frequency, state.debts[2].frequency) == (1, 0)  # daily, hourly
    assert state.debts[3].share == 100 and state.debts[1].rate == 50000
    assert state.message == b"Reset" and state.supplier_name == b"E-ON"
    assert state.pin_disabled
    assert state.emergency_credit_selected
    _send(keys, meter, "GCS04", 5010)  # the debts are added to
    assert [d.amount for d in state.debts.values()] == [2005000, 1005000, 2005000]
    assert _send(keys, meter, "GCS06", 5011).status == "failure"  # none left to select


def test_the_gsme_refuses_the_gpfs_command(keys, meter):
    result = meter.handle(read_hex(rtds_success("GCS09")).replace(GPF, GSME))
    assert result.outcome == "rejected:unsupported-use-case" and result.response is None


def test_a_critical_command_without_its_signature_is_a_counted_rejection(keys, meter):
    message = decode(read_hex(rtds_success("GCS32")))
    unsigned = read_hex(rtds_success("GCS07"))  # a MAC'd, unsigned command, given GCS32's code
    header = decode(unsigned).header
    header.other_information.message_code = message.message_code
    content = bytes(message.apdu[message.content_offset - message.apdu_offset :
                                 len(message.apdu) - 65])  # fmt: skip
    command = mac_apdu(encode_apdu(header, content, b""), keys.keystore)
    result = meter.handle(command)
    assert result.outcome == "rejected:unsigned" and result.response is None
    assert meter.stats["rejected:unsigned"] == 1
    assert _read(keys, meter, "GCS33", 5000)[1] == 2  # the valve did not move


CLOCK = sorted(
    str(p.relative_to(RTDS))
    for folder in ("6.11_GCS28", "8.1.1_GCS28Commission")
    for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX")
)


@pytest.mark.parametrize("template", ["GCS28_6.11", "GCS28Commission_8.1.1"])
def test_the_set_clock_precommand_from_the_template_is_rtds(template):
    srv = template.split("_")[1]
    [precommand] = RTDS.glob(f"{srv}_{template.split('_')[0]}/*_SUCCESS_PRECOMMAND_GBCS.HEX")
    rtds = decode(read_hex(precommand))
    root = duis.parse((CATALOGUE / f"{template}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case="GCS28")
    assert ours.critical and ours.user_signs
    assert ours.precommand() == read_hex(precommand)


@pytest.mark.parametrize("name", CLOCK)
def test_the_meter_takes_the_time_within_the_interval(keys, meter, name):
    """RTDS's ERROR interval (01:00-02:00) is after the meter's time (00:00): unreliable, its
    time unchanged, RTDS's response; its SUCCESS interval (23:30-00:30) holds it: reliable
    (RTDS's meter answers 23:30, ours its own 00:00)."""
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(result.response)
    assert plain(got.header) == plain(expected.header)
    assert check_message(got, keys.keystore).outcome == "verified"
    fields = got.payload.fields
    assert str(fields.device_time) == "20150101000000Z"
    if "_ERROR_" in name:
        assert plain(got.payload) == plain(expected.payload)
        assert not meter.commands.state.clock_reliable
    else:
        assert int(fields.device_time_status) == 0 and meter.commands.state.clock_reliable


def _logs(keys, meter, counter: int, log: str = "Security", end: str | None = None):
    """A 6.13 read of the meter's log from the CS10b template (the event log's CS10a has no
    RTDS case: the same command for log 3)."""
    rtds = decode(read_hex(rtds_success("CS10b")))
    root = duis.parse((CATALOGUE / "CS10b_6.13_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}LogToRead").text = log
    if end is not None:
        root.find(f".//{{{duis.SR}}}EndDateTime").text = end
    duis.set_originator(root, bytes(rtds.originator), counter)
    ours = transform(duis.parse_request(root), use_case="CS10a", now=RTDS_TIME)
    assert ours.use_case.name == {"Security": "CS10b", "Event": "CS10a"}[log]
    result = meter.handle(mac_apdu(ours.unsigned_command(), keys.keystore))
    assert result.outcome == "executed", result.outcome
    return decode(result.response).payload.components[0].body.frame.payload


def test_the_event_log_holds_what_the_commands_did_and_clears(keys, meter):
    """Empty at first (not_found); arming a closed valve, emergency credit and a clock set
    are logged; 3.3 clears the event log and not the security log, which logs the clearing
    (8F52) after RTDS's 32 events."""
    assert _logs(keys, meter, 6000, "Event").status == "not_found"
    meter.attributes[(METERING, 0x0014)] = ("enum8", 0)
    for n, use_case in enumerate(("GCS39", "GCS06")):
        _send(keys, meter, use_case, 6001 + n)
    meter.handle(recounted(keys, read_hex(RTDS / CLOCK[-1]), 6003))  # 6.11 SUCCESS
    logged = _logs(keys, meter, 6004, "Event", end="2030-01-01T00:00:00.00Z")
    assert [e.event_id for e in logged.events] == [0x8F32, 0x81AB, 0x8145]
    assert {e.event_time for e in logged.events} == {datetime_to_seconds2000(RTDS_TIME)}
    assert _send(keys, meter, "CS11", 6005).cleared_event_logs == 1 << 3
    assert _logs(keys, meter, 6006, "Event", end="2030-01-01T00:00:00.00Z").status == "not_found"
    security = _logs(keys, meter, 6007)
    assert security.total_number_of_matching_events == 33 == len(security.events)
    cleared = security.events[-1]
    assert (cleared.event_id, cleared.event_time) == (0x8F52, datetime_to_seconds2000(RTDS_TIME))


def test_a_security_log_read_over_a_narrower_period(keys, meter):
    whole = _logs(keys, meter, 6000)
    early = _logs(keys, meter, 6001, end="2014-12-31T06:00:00.00Z")
    start = 473299200  # 2014-12-31T00:00:00Z
    assert [e.event_time for e in early.events] == [
        e.event_time for e in whole.events if e.event_time <= start + 6 * 3600]  # fmt: skip
    assert 0 < len(early.events) < len(whole.events)


DEVICE_LOG = sorted(
    str(p.relative_to(RTDS))
    for folder in ("8.7.2_CS03B", "8.8.2_CS04B", "8.7.1_CS03CCritical", "8.9_CS07")
    for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX")
)
#: the entries RTDS's GSME lists in its CS07 response (its CS04B unjoins the first)
RTDS_DEVICE_LOG = {bytes.fromhex("0102030405060708"): "gpf",
                   bytes.fromhex("00DB123456789099"): "gpf",
                   bytes.fromhex("00DB123456789097"): "ppmid"}  # fmt: skip


def test_the_gpf_is_in_the_gsmes_device_log(meter, proxy):
    """The meter starts with RTDS's entries, and its own GPF joins them."""
    assert meter.commands.device_log == {**RTDS_DEVICE_LOG, GPF: "gpf"}


@pytest.mark.parametrize("name", DEVICE_LOG)
def test_rtds_device_log_command_is_answered_as_rtds(keys, meter, name):
    """On RTDS's device log: joins, unjoins and the read answer as RTDS's GSME (signed where
    the command was, else MAC'd byte for byte); RTDS's CS07 ERROR is a log that cannot be
    read."""
    meter.commands.device_log.update(RTDS_DEVICE_LOG)
    meter.commands.device_log_fault = "_CS07/" in name and "_ERROR_" in name
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected_raw = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    expected, got = decode(expected_raw), decode(result.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    if expected.signature is None:
        assert result.response == expected_raw
    else:
        assert check_message(got, keys.keystore).outcome == "verified"


def test_the_cs07_template_is_rtds_command():
    rtds = decode(read_hex(rtds_success("CS07")))
    root = duis.parse((CATALOGUE / "CS07_8.9_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case="CS07")
    assert ours.unsigned_command() == bytes(rtds.apdu)


def _device_log(keys, meter, counter: int) -> dict:
    result = meter.handle(recounted(keys, read_hex(rtds_success("CS07")), counter))
    assert result.outcome == "executed", result.outcome
    fields = decode(result.response).payload.fields
    return {bytes(e.device_id): str(e.device_type_name) for e in fields.device_log_entries}


def test_a_ppmid_joins_and_unjoins(keys, meter, proxy):
    """Method C adds the PPMID with its certificate (8.9 lists it beside the GPF); joining it
    again is success, unchanged; Method B for a PPMID is invalid; 8.8 takes it off."""
    ppmid = bytes.fromhex("00DB123456789098")
    join = read_hex(next(RTDS.glob("8.7.1_CS03CCritical/*_SUCCESS_COMMAND_GBCS.HEX")))
    result = meter.handle(recounted(keys, join, 7000))
    assert decode(result.response).payload.fields.value == 0
    assert _device_log(keys, meter, 7001) == {**RTDS_DEVICE_LOG, GPF: "gpf", ppmid: "ppmid"}
    assert meter.commands.state.certificates[ppmid][:2] == b"\x30\x82"
    again = meter.handle(recounted(keys, join, 7002))
    assert decode(again.response).payload.fields.value == 0
    wrong = read_hex(next(RTDS.glob("8.7.2_CS03B/*_ERROR_COMMAND_GBCS.HEX")))
    assert decode(meter.handle(recounted(keys, wrong, 7003)).response).payload.fields.value == 2
    unjoin = decode(read_hex(next(RTDS.glob("8.8.2_CS04B/*_SUCCESS_COMMAND_GBCS.HEX"))))
    header = unjoin.header
    header.transaction_id.counter = 7004
    command = mac_apdu(encode_apdu(header, bytes.fromhex("0408") + ppmid, b""), keys.keystore)
    assert decode(meter.handle(command).response).payload.fields.value == 0
    assert _device_log(keys, meter, 7005) == {**RTDS_DEVICE_LOG, GPF: "gpf"}
    assert ppmid not in meter.commands.state.certificates


def test_the_gas_configuration_set_is_read_back(keys, meter):
    """6.6's conversion factor and calorific value and 6.7's flow threshold and periods are
    what 6.2.8 (GCS21a) reads next; 6.7's Unchanged supply states stay as they were."""
    before = _read(keys, meter, "GCS21a", 8000)
    _send(keys, meter, "GCS23", 8001)
    _send(keys, meter, "GCS24a", 8002)
    after = _read(keys, meter, "GCS21a", 8003)
    # price: CV trailing digit, CV unit, CV, CF trailing digit, CF; then the flow settings
    assert after[:5] == [0x10, 1, 400, 0x50, 102264] != before[:5]
    assert after[5:] == [10000, 1, 1, 61680, 60, 300] != before[5:]
    assert meter.attributes[(METERING, 0x0607)] == ("enum8", 3)


def test_a_locked_tamper_state_is_kept(keys, meter):
    def edit(root):
        root.find(f".//{{{duis.SR}}}SupplyTamperState").text = "Locked"

    rtds = decode(read_hex(rtds_success("GCS24a")))
    root = duis.parse((CATALOGUE / "GCS24a_6.7_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    edit(root)
    duis.set_originator(root, bytes(rtds.originator), 8100)
    locked = transform(duis.parse_request(root), use_case="GCS24a", now=RTDS_TIME)
    signer = keys.signer(bytes(rtds.originator))
    result = meter.handle(mac_apdu(sign(locked.precommand(), signer), keys.keystore))
    assert result.outcome == "executed"
    assert meter.attributes[(METERING, 0x0607)] == ("enum8", 0)  # supply off on tamper
    assert meter.attributes[(METERING, 0x0608)] == ("enum8", 3)  # depletion unchanged
