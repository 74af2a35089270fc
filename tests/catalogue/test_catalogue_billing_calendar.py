"""The billing calendar, set by 6.8 and read by 6.2.3: at the ESME the billing single action
schedule's execution times (critical ECS30 / ECS30a; ECS26d / ECS26l read them), at the GSME
the Price cluster's billing and block periods (critical GCS25 / GCS25a; GCS21d / GCS21k read
the billing period). The DSP's commands from the templates are RTDS's; RTDS's SUCCESS and
ERROR (a hardware fault) commands are answered as RTDS's (signed by the meter where the
command was); what 6.8 sets, 6.2.3 reads back. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success
from lxml import etree

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import PRICE
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
SCHEDULE = bytes.fromhex("00000F0000FF")  # 0-0:15.0.0.255 the billing single action schedule
GAS = sorted(str(p.relative_to(RTDS)) for folder in ("6.8_GCS25", "6.8_GCS25a", "6.2.3_GCS21d",
                                                      "6.2.3_GCS21k")
             for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
ESME = sorted(str(p.relative_to(RTDS)) for p in RTDS.glob("6.8_ECS30a/*_COMMAND_GBCS.HEX"))


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def _request(template: str, counter: int | None = None, edit=None):
    use_case = template.split("_")[0]  # ECS30 has no RTDS case: ECS30a's originator
    rtds = decode(read_hex(rtds_success({"ECS30": "ECS30a"}.get(use_case, use_case),
                                        "PRECOMMAND")))  # fmt: skip
    root = duis.parse((CATALOGUE / f"{template}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes(rtds.originator), counter or rtds.counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("template", ["ECS30a_6.8", "GCS25_6.8", "GCS25a_6.8"])
def test_the_precommand_from_the_template_is_rtds(template):
    use_case = template.split("_")[0]
    ours = transform(_request(template), use_case=use_case, now=RTDS_TIME)
    assert ours.critical and ours.user_signs
    assert ours.precommand() == read_hex(rtds_success(use_case, "PRECOMMAND"))


def test_the_dsp_sends_the_newer_use_cases():
    assert transform(_request("ECS30_6.8"), use_case="ECS30a").use_case.name == "ECS30a"


@pytest.mark.parametrize(("choice", "dates"), [
    ("<sr:Daily/>", ["FFFFFFFFFF"]),
    ("<sr:Weekly>3</sr:Weekly>", ["FFFFFFFF03"]),
    ("<sr:Monthly>28</sr:Monthly>", ["FFFFFF1CFF"]),
    ("<sr:Quarterly><sr:DayOfMonth>5</sr:DayOfMonth><sr:BillingPeriodStartMonth>11"
     "</sr:BillingPeriodStartMonth></sr:Quarterly>",
     ["FFFF0205FF", "FFFF0505FF", "FFFF0805FF", "FFFF0B05FF"]),
    ("<sr:SixMonthly><sr:DayOfMonth>2</sr:DayOfMonth><sr:BillingPeriodStartMonth>8"
     "</sr:BillingPeriodStartMonth></sr:SixMonthly>", ["FFFF0202FF", "FFFF0802FF"]),
    ("<sr:Yearly><sr:DayOfMonth>1</sr:DayOfMonth><sr:BillingPeriodStartMonth>4"
     "</sr:BillingPeriodStartMonth></sr:Yearly>", ["FFFF0401FF"]),
])  # fmt: skip
def test_each_periodicity_gives_its_billing_dates(choice, dates):
    def edit(root):
        calendar = root.find(f".//{{{duis.SR}}}ElectricityBillingCalendar")
        for child in list(calendar)[1:]:
            calendar.remove(child)
        calendar.append(etree.fromstring(f'<sr:X xmlns:sr="{duis.SR}">{choice}</sr:X>')[0])

    content = transform(_request("ECS30_6.8", edit=edit), use_case="ECS30a").precommand()
    entries = decode(content).payload.data[0].value
    assert [bytes(e.value[1].value).hex().upper() for e in entries] == dates
    assert {bytes(e.value[0].value).hex() for e in entries} == {"0c000000"}  # 12:00


def test_a_calendar_without_a_periodicity_is_refused():
    def edit(root):
        calendar = root.find(f".//{{{duis.SR}}}ElectricityBillingCalendar")
        calendar.remove(calendar[1])

    with pytest.raises(TransformError, match="no periodicity"):
        transform(_request("ECS30_6.8", edit=edit), use_case="ECS30a")


@pytest.mark.parametrize("name", ESME)
def test_rtds_esme_command_is_answered_as_rtds(keys, name):
    async def fault(premises):
        if "_ERROR_" in name:  # RTDS's error: the schedule object's hardware fault
            premises.esme.object_faults = {SCHEDULE}

    [execution], _ = execute(keys, [read_hex(RTDS / name)], before=fault)
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed(keys, transformed) -> bytes:
    signer = keys.signer(bytes(transformed.header.originator))
    return mac_apdu(sign(transformed.precommand(), signer), keys.keystore)


def test_the_esme_reads_back_the_calendar_set(keys):
    monthly = transform(_request("ECS30_6.8", counter=9000), use_case="ECS30a")
    read = read_hex(rtds_success("ECS26d"))
    commands = [recounted(keys, read, 8999), _signed(keys, monthly), recounted(keys, read, 9001)]
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 3
    before, after = (decode(executions[i].response).payload.data[0].value for i in (0, 2))
    assert len(before) == 4  # RTDS's quarterly calendar
    assert [(bytes(e.value[0].value).hex(), bytes(e.value[1].value).hex()) for e in after] == [
        ("0c000000", "ffffff01ff")]  # fmt: skip


@pytest.mark.parametrize("name", GAS)
def test_rtds_gas_command_is_answered_as_rtds(keys, meter, name):
    """RTDS's GCS25 ERROR fails at the block period (the billing period taken), its GCS21d
    ERROR at once; RTDS's GCS21k shows another meter's billing period than its GCS21d, which
    the meter starts with."""
    if "_ERROR_" in name:
        meter.commands.faults[PRICE] = 0 if "GCS21" in name else 1
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected_raw = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    expected, got = decode(expected_raw), decode(result.response)
    assert plain(got.header) == plain(expected.header)
    if "GCS21k" in name and "_SUCCESS_" in name:
        ours = got.payload.components[0].body.frame.payload
        theirs = expected.payload.components[0].body.frame.payload
        assert (ours.billing_period_duration, ours.billing_period_duration_type) == (1, 0x22)
        assert (theirs.billing_period_duration, theirs.billing_period_duration_type) == (6, 0x23)
        return
    assert plain(got.payload) == plain(expected.payload)
    if expected.signature is None:
        assert result.response == expected_raw
    else:
        assert check_message(got, keys.keystore).outcome == "verified"


def test_the_gsme_reads_back_the_billing_period_set(keys, meter):
    six_monthly = transform(_request("GCS25a_6.8", counter=9000), use_case="GCS25a",
                            now=RTDS_TIME + dt.timedelta(days=1))  # fmt: skip
    assert meter.handle(_signed(keys, six_monthly)).outcome == "executed"
    read = meter.handle(recounted(keys, read_hex(rtds_success("GCS21k")), 9001))
    period = decode(read.response).payload.components[0].body.frame.payload
    assert (period.billing_period_start_time, period.billing_period_duration,
            period.billing_period_duration_type) == (473385600, 6, 0x23)  # fmt: skip
    assert period.issuer_event_id == 473385600 + 86400  # the DSP's time when it built it
    assert meter.commands.state.block_period["block_period_duration"] == 6


def test_an_unknown_price_command_is_refused_without_an_answer(keys, meter):
    """A Price cluster command the meter does not carry out (here get_scheduled_prices) is an
    unsupported use case: counted, no response, the billing period unchanged."""
    rtds = decode(read_hex(rtds_success("GCS21d")))
    payload = rtds.payload
    frame = payload.components[0].body.frame
    frame.command_id = 0x01
    frame.payload = {"command": "get_scheduled_prices", "start_time": 0, "number_of_events": 1}
    header = rtds.header
    header.transaction_id.counter = 9100
    command = mac_apdu(encode_apdu(header, encode_payload("gbz", payload), b""), keys.keystore)
    result = meter.handle(command)
    assert result.outcome == "rejected:unsupported-use-case" and result.response is None
    assert meter.stats["rejected:unsupported-use-case"] == 1
