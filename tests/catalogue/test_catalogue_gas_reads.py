"""The gas meter's reads of what it logs: 4.8.1 the half-hour consumption profile (GCS17) and
4.10 the gas network data log (GCS18), Metering get_sampled_data answered from the meter's
sampled data logs (sampled_data.json: RTDS's meter's samples) and encrypted for the reader.
The DSP's command from each template is RTDS's byte for byte; RTDS's SUCCESS responses are
answered byte for byte (ciphertext for ciphertext), its NOT_FOUND and ERROR (the Metering
cluster's hardware failing) as RTDS's; a period reads the samples the log holds in it, and a
log's new samples are what the next read shows. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import METERING
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu
from gbcs.zcl import CLUSTER_COMMANDS

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FOLDERS = {"GCS17": "4.8.1_GCS17", "GCS18": "4.10_GCS18"}
TEMPLATES = {"GCS17": "GCS17_4.8.1", "GCS18": "GCS18_4.10"}
COMMANDS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS.values()
                  for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
SAMPLED_DATA_RESPONSE = CLUSTER_COMMANDS["metering"][1][0x07]


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def _rtds_success(use_case: str):
    return decode(
        read_hex(RTDS / FOLDERS[use_case] / f"{TEMPLATES[use_case]}_SUCCESS_COMMAND_GBCS.HEX")
    )


def _request(use_case: str, period: tuple[str, str] | None = None, counter: int | None = None):
    rtds = _rtds_success(use_case)
    root = duis.parse((CATALOGUE / f"{TEMPLATES[use_case]}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if period is not None:
        node = root.find(f".//{{{duis.SR}}}ReadLogPeriod")
        for name, text in zip(("StartDateTime", "EndDateTime"), period, strict=True):
            node.find(f"{{{duis.SR}}}{name}").text = text
    duis.set_originator(root, bytes(rtds.originator), counter or rtds.counter)
    return duis.parse_request(root)


def _command(keys, use_case: str, period=None, counter: int | None = None) -> bytes:
    """The DSP's command for the template (its period replaced), MAC'd by the Supplier."""
    ours = transform(_request(use_case, period, counter), use_case=use_case, now=RTDS_TIME)
    return mac_apdu(ours.unsigned_command(), keys.keystore)


def _samples(keys, response: bytes):
    """The decrypted get_sampled_data_response of a response, or None for a clear one."""
    message = decode(response)
    report = check_message(message, keys.keystore)
    assert report.outcome == "verified", report.as_dict()
    if not message.decrypted:
        return None
    return SAMPLED_DATA_RESPONSE.parse(message.decrypted[0])


@pytest.mark.parametrize("use_case", sorted(FOLDERS))
def test_the_command_from_the_template_is_rtds(use_case):
    rtds = _rtds_success(use_case)
    ours = transform(_request(use_case), use_case=use_case, now=RTDS_TIME)
    assert not ours.critical
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for(rtds.use_case.srvs[0], "gsme") == use_case


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(TransformError, match="ends before"):
        transform(_request("GCS17", ("2015-01-01T00:00:00Z", "2014-12-31T00:00:00Z")),
                  use_case="GCS17", now=RTDS_TIME)  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(meter, name):
    """RTDS's ERROR: the Metering cluster's hardware fails; its GCS18 NOT_FOUND is the
    SUCCESS command to a meter whose network data log holds nothing."""
    if "_ERROR_" in name:
        meter.commands.faults[METERING] = 0
    if "_NOT_FOUND_" in name and "GCS18" in name:
        meter.commands.sampled[2].samples = []
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    assert plain(decode(result.response).header) == plain(decode(expected).header)
    assert result.response == expected  # MAC'd (and encrypted) with static ECDH: byte for byte


@pytest.mark.parametrize(("period", "first", "count"), [
    # the last six hours of RTDS's profile: 13 samples, both ends'
    (("2014-12-31T18:00:00Z", "2015-01-01T00:00:00Z"), "2014-12-31T18:00:00+00:00", 13),
    # a period that starts before the log: what the log holds of it
    (("2014-12-29T22:00:00Z", "2014-12-30T02:00:00Z"), "2014-12-30T00:00:00+00:00", 5),
    # a start between two samples: from the next one
    (("2014-12-31T23:10:00Z", "2015-01-01T00:00:00Z"), "2014-12-31T23:30:00+00:00", 2),
])  # fmt: skip
def test_a_period_reads_the_samples_the_log_holds_in_it(keys, meter, period, first, count):
    data = _samples(keys, meter.handle(_command(keys, "GCS17", period)).response)
    assert EPOCH + dt.timedelta(seconds=data.sample_start_time) == dt.datetime.fromisoformat(first)
    assert data.number_of_samples == count and data.sample_request_interval == 1800
    log = meter.commands.sampled[0]
    offset = (data.sample_start_time - log.start) // 1800
    assert list(data.samples) == log.samples[offset : offset + count]


@pytest.mark.parametrize("period", [
    ("2013-01-01T00:00:00Z", "2013-06-30T00:00:00Z"),  # before the log
    ("2015-01-02T00:00:00Z", "2015-01-03T00:00:00Z"),  # after it
])  # fmt: skip
def test_a_period_the_log_holds_nothing_of_is_not_found(keys, meter, period):
    response = meter.handle(_command(keys, "GCS17", period)).response
    assert _samples(keys, response) is None
    frame = decode(response).payload.components[0].body.frame
    assert (frame.payload.command, frame.payload.status) == ("default_response", "not_found")


def test_the_network_data_read_gives_the_most_recent_samples(keys, meter):
    """GCS18 asks for as many samples as its period spans, the most recent ones: samples the
    log gains are what the next read shows, the oldest dropping out of the window."""
    log = meter.commands.sampled[2]
    first = _samples(keys, meter.handle(_command(keys, "GCS18", counter=9000)).response)
    assert list(first.samples) == log.samples and first.number_of_samples == 41
    log.samples = [*log.samples, 3, 3]  # two more 6-minute samples
    second = _samples(keys, meter.handle(_command(keys, "GCS18", counter=9001)).response)
    assert list(second.samples) == log.samples[2:]
    assert second.sample_start_time == first.sample_start_time + 12 * 60
