"""The gas skeleton (emulator/devices/gsme/): the GSME wakes on its schedule and answers only
then, the GPF holds its commands until it wakes and answers "reliable" reads at once from its
mirror. RTDS's clear GBZ reads to the GSME (11.2, 4.18, 6.2.4, 6.2.7, 6.2.8, 6.2.9, 7.4) and
to the GPF (4.18 reliable), and the encrypted 4.1.1 register reads (GCS13a) to either, get
RTDS's responses (the encrypted ones ciphertext for ciphertext), byte for byte where the
meter holds RTDS's data; a command waits for the next wake-up; the mirror shows what the
meter said at its last wake, one of its own or one that carried a command; a command whose MAC fails is a counted rejection with no
response. Parametrised by RTDS file name."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import GBZ_READS, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter, GasProxy
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain

GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
TO_GSME = sorted(
    str(p.relative_to(RTDS))
    for pattern in (
        "11.2_GCS38",
        "4.18_GCS60",
        "6.2.4_GCS21e",
        "6.2.4_GCS21m",
        "6.2.7_GCS46",
        "6.2.8_GCS21a",
        "6.2.9_GCS21j",
        "7.4_GCS33",
        "4.18_GCS60a",
        "4.1.1_GCS13a",
    )  # fmt: skip
    for p in RTDS.glob(f"{pattern}/*_SUCCESS*_COMMAND_GBCS.HEX")
    if decode(read_hex(p)).target == GSME
)
TO_GPF = sorted(
    str(p.relative_to(RTDS)) for p in RTDS.glob("4.18_GCS60a/*_SUCCESS_RELIABLE_*_COMMAND*")
)
#: 4.1.1's registers read from the mirror, encrypted for the reader as RTDS's GPF does
REGISTERS_TO_GPF = sorted(
    str(p.relative_to(RTDS)) for p in RTDS.glob("4.1.1_GCS13a/*_SUCCESS_RELIABLE_*_COMMAND*")
)
#: RTDS's GCS21m shows another meter's identity strings than GCS21e, which the meter starts with
OTHER_METER = {"GCS21m"}
INTERVAL = 1800.0


def run(keys, scenario, interval: float = INTERVAL):
    clock = Clock("simulated")

    async def main():
        gsme = GasMeter(GSME, keys, clock, lambda: RTDS_TIME, wake_interval_s=interval)
        gpf = GasProxy(GPF, gsme, keys, lambda: RTDS_TIME)
        return await scenario(clock, gsme, gpf)

    return clock.run(main)


def test_the_commands_are_the_gas_devices():
    assert len(TO_GSME) == 10 and len(TO_GPF) == 2 and len(REGISTERS_TO_GPF) == 2
    assert {decode(read_hex(RTDS / n)).target for n in TO_GPF} == {GPF}


@pytest.mark.parametrize("name", TO_GSME)
def test_a_gsme_command_waits_for_the_wake_up_and_gets_rtds_response(keys, name):
    async def scenario(clock, gsme, gpf):
        result = await gpf.for_gsme(read_hex(RTDS / name))
        return result, clock.now(), gsme.wakes

    result, when, wakes = run(keys, scenario)
    assert result.outcome == "executed", result.outcome
    assert when == pytest.approx(INTERVAL) and wakes == 1  # answered at the first wake-up
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(result.response), decode(expected)
    if _same_but_the_time(got, want):
        return
    assert plain(got.header) == plain(want.header)
    if name.split("/")[0].split("_")[1] in OTHER_METER:
        shape = [(r.attribute_id, str(r.data_type)) for r in
                 want.payload.components[0].body.frame.payload.records]  # fmt: skip
        assert [(r.attribute_id, str(r.data_type)) for r in
                got.payload.components[0].body.frame.payload.records] == shape  # fmt: skip
        return
    assert result.response == expected  # MAC'd with static ECDH: byte for byte


@pytest.mark.parametrize("name", TO_GPF + REGISTERS_TO_GPF)
def test_a_reliable_read_is_answered_at_once_from_the_mirror(keys, name):
    async def scenario(clock, gsme, gpf):
        return gpf.handle(read_hex(RTDS / name)), clock.now(), gsme.wakes

    result, when, wakes = run(keys, scenario)
    assert result.outcome == "executed" and when == 0 and wakes == 0
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    assert _same_but_the_time(decode(result.response), expected)


def _same_but_the_time(got, want) -> bool:
    """A date-stamped response (GCS60a): RTDS's header and payload but the time of the
    reading, which is the meter's clock's (ours pinned at 2015-01-01 00:00)."""
    if want.header.date_time is None:
        return False
    header, theirs = plain(got.header), plain(want.header)
    assert header.pop("date_time") == "2015-01-01T00:00:00Z"
    theirs.pop("date_time")
    assert header == theirs and plain(got.payload) == plain(want.payload)
    return True


def _balance(response: bytes) -> int:
    return decode(response).payload.components[0].body.frame.payload.records[0].value


def test_the_mirror_shows_what_the_meter_said_at_its_last_wake(keys):
    reliable = read_hex(RTDS / TO_GPF[0])
    unreliable = read_hex(next(RTDS.glob("4.18_GCS60a/*_UNRELIABLE_GSME_COMMAND*")))

    async def scenario(clock, gsme, gpf):
        gsme.attributes[(0x0702, 0x0A00)] = ("uint32", 1234)  # the meter's balance moves
        before = gpf.handle(recounted(keys, reliable, 3000))
        direct = await gpf.for_gsme(recounted(keys, unreliable, 3001))  # wakes the meter
        after = gpf.handle(recounted(keys, reliable, 3002))
        return before, direct, after

    before, direct, after = run(keys, scenario)
    assert [_balance(r.response) for r in (before, direct, after)] == [3500000, 1234, 1234]


def test_the_meter_tells_the_gpf_its_data_at_every_wake_up(keys):
    """No command waits, yet at its own wake-up the meter refreshes the GPF's mirror: a
    balance that moved shows after the next wake-up, not before it; one that moves after
    that wake-up shows only at the one after."""
    reliable = read_hex(RTDS / TO_GPF[0])
    balance = (0x0702, 0x0A00)

    async def scenario(clock, gsme, gpf):
        reads = []
        gsme.attributes[balance] = ("uint32", 1234)
        await asyncio.sleep(INTERVAL - 1)  # just before the first wake-up
        reads.append(gpf.handle(recounted(keys, reliable, 3100)))
        await asyncio.sleep(2)  # just after it
        reads.append(gpf.handle(recounted(keys, reliable, 3101)))
        gsme.attributes[balance] = ("uint32", 999)
        await asyncio.sleep(INTERVAL - 2)  # just before the second
        reads.append(gpf.handle(recounted(keys, reliable, 3102)))
        await asyncio.sleep(10 * INTERVAL)  # ten more wake-ups, nothing changed
        reads.append(gpf.handle(recounted(keys, reliable, 3103)))
        return reads, gpf.refreshes, gsme.wakes

    reads, refreshes, wakes = run(keys, scenario)
    assert [_balance(r.response) for r in reads] == [3500000, 1234, 1234, 999]
    assert refreshes == 2 and wakes == 0  # told twice, at wake-ups of its own


def test_commands_wait_together_for_one_wake_up(keys):
    firmware = read_hex(next(RTDS.glob("11.2_GCS38/*_SUCCESS_COMMAND*")))

    async def scenario(clock, gsme, gpf):
        await asyncio.sleep(100)
        results = await asyncio.gather(gpf.for_gsme(recounted(keys, firmware, 4000)),
                                       gpf.for_gsme(recounted(keys, firmware, 4001)))  # fmt: skip
        return results, clock.now(), gsme.wakes, gpf.queued

    results, when, wakes, queued = run(keys, scenario, interval=600.0)
    assert [r.outcome for r in results] == ["executed", "executed"]
    assert when == pytest.approx(600.0) and queued == 2


def test_a_bad_mac_is_a_counted_rejection(keys):
    command = bytearray(read_hex(next(RTDS.glob("11.2_GCS38/*_SUCCESS_COMMAND*"))))
    command[-1] ^= 0x01

    async def scenario(clock, gsme, gpf):
        return await gpf.for_gsme(bytes(command)), gsme.stats

    result, stats = run(keys, scenario)
    assert result.outcome == "rejected:bad-mac" and result.response is None
    assert stats["rejected:bad-mac"] == 1 and stats["executed"] == 0


def test_a_wake_interval_must_be_positive(keys):
    with pytest.raises(ValueError, match="positive"):
        GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME, wake_interval_s=0)


def test_a_premises_with_gas_routes_to_the_gpf_and_the_gsme(keys):
    """A household profile with a `gas` section: the premises lists the GSME and GPF, a
    command for the GSME waits for its wake-up there, one for the GPF is answered at once, and
    a use case the GSME does not serve is refused without the wait."""
    profile = json.loads(PROFILE.read_text())
    profile["gas"] = {"gsme": GSME.hex(), "gpf": GPF.hex(), "wake_interval_s": 60}
    firmware = read_hex(next(RTDS.glob("11.2_GCS38/*_SUCCESS_COMMAND*")))
    reliable = read_hex(RTDS / TO_GPF[0])
    esme_read = read_hex(next(RTDS.glob("11.2_ECS52/*_SUCCESS_COMMAND*")))
    esme_read = recounted(keys, esme_read.replace(bytes.fromhex("00DB1234567890A0"), GSME), 9)

    executions, premises = execute(keys, [reliable, firmware, esme_read], profile)
    assert [e.outcome for e in executions] == ["executed", "executed",
                                               "rejected:unsupported-use-case"]  # fmt: skip
    assert executions[1].response == read_hex(
        next(RTDS.glob("11.2_GCS38/*_SUCCESS_RESPONSE*")))  # fmt: skip
    assert executions[1].latency_s >= 59 and executions[0].latency_s < 1
    assert executions[2].latency_s < 1  # refused without waiting for the wake-up
    ids = premises.device_ids
    assert (ids[GSME.hex().upper()], ids[GPF.hex().upper()]) == ("GSME", "GPF")
    assert premises.gas.queued == 1 and premises.gas.gsme.wakes == 1


#: (the GBZ reads whose RTDS folders are in data/rtds: test_catalogue_gas_registers.py has the
#: others')
GAS_TEMPLATES = sorted(p.name for p in CATALOGUE.glob("GCS*_REQUEST_DUIS.XML")
                       if p.name.split("_")[0] in GBZ_READS
                       and any(RTDS.glob(f"*_{p.name.split('_')[0]}")))  # fmt: skip


@pytest.mark.parametrize("name", GAS_TEMPLATES)
def test_the_gbz_read_from_the_template_is_rtds(name):
    """The DSP's GBZ read for each gas template equals RTDS's command (MAC aside), and is the
    use case the DSP would pick for the template's target device."""
    use_case, srv = name.split("_")[:2]
    kind = name.removeprefix(f"{use_case}_{srv}_").removesuffix("_REQUEST_DUIS.XML")
    folder = next(RTDS.glob(f"{srv}_{use_case}"))
    same = folder / f"{use_case}_{srv}_{kind}_COMMAND_GBCS.HEX"
    rtds = decode(read_hex(same if same.exists() else sorted(
        folder.glob("*_SUCCESS*_COMMAND_GBCS.HEX"))[0]))  # fmt: skip
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case=use_case)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    device = "gpf" if rtds.target == GPF else "gsme"
    # where two use cases serve a device the DSP picks one: the newer identity read, and
    # for the meter itself the plain balance read
    picked = {("GCS21e", "gsme"): "GCS21m", ("GCS60a", "gsme"): "GCS60"}
    assert use_case_for(srv, device) == picked.get((use_case, device), use_case)
