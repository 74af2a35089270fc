"""The gas meter's snapshots and debt log: 4.6.1 the daily read log (GCS16a, Metering
get_snapshot), 4.14 the prepayment daily read log (GCS16b, get_prepay_snapshot), 4.4.3 the
billing calendar's snapshots (GCS15c, both) and 4.4.4 the payment-based debt log (GCS15d, from
the ACB on the Supplier's behalf), each answered from the meter's logs (snapshots.json: RTDS's
meter's) and encrypted for the reader. The DSP's commands from the templates are RTDS's byte for
byte; RTDS's responses are answered byte for byte by a meter holding what RTDS's held then, but
RTDS's daily read log's total_snapshots_found (31 for the two a period finds: ours counts what
it finds, as ZCL says); a period picks the snapshots and collections in it. Parametrised by
RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import METERING, PREPAYMENT
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import check_message, mac_apdu
from gbcs.zcl import CLUSTER_COMMANDS

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FOLDERS = {"GCS16a": "4.6.1_GCS16a", "GCS16b": "4.14_GCS16b", "GCS15c": "4.4.3_GCS15c",
           "GCS15d": "4.4.4_GCS15d"}  # fmt: skip
TEMPLATES = {"GCS16a": "GCS16a_4.6.1_SUCCESS", "GCS16b": "GCS16b_4.14_KRP_SUCCESS",
             "GCS15c": "GCS15c_4.4.3_SUCCESS", "GCS15d": "GCS15d_4.4.4_SUCCESS"}  # fmt: skip
COMMANDS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS.values()
                  for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX") if "_URP_" not in p.name)  # fmt: skip
#: RTDS's daily read log says it found 31 snapshots where its period holds two or three
DAILY = ("GCS16a", "GCS16b")
PUBLISHED = {"publish_snapshot": (METERING, 0x06), "publish_prepay_snapshot": (PREPAYMENT, 0x01),
             "publish_debt_log": (PREPAYMENT, 0x06)}  # fmt: skip


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def _decrypted(keys, response: bytes) -> list:
    """The response's encrypted components' ZCL payloads, parsed, in order."""
    message = decode(response)
    report = check_message(message, keys.keystore)
    assert report.outcome == "verified", report.as_dict()
    found = []
    for component, plaintext in zip(
        [c for c in message.payload.components if c.control.encrypted],
        message.decrypted,
        strict=True,
    ):
        table = CLUSTER_COMMANDS[str(component.cluster_id)][1]
        found.append(table[component.body.encrypted_frame.command_id].parse(plaintext))
    return found


def _holding_rtds(keys, meter, name: str) -> None:
    """The meter holds the snapshots and collections RTDS's response shows (RTDS's meter held
    other data for its ERROR cases than for its SUCCESS ones)."""
    response = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    snapshots, debts = {}, []
    for payload in _decrypted(keys, response):
        if payload.command == "publish_debt_log":
            debts += [(d.collection_time, d.amount_collected, d.debt_type, d.outstanding_debt)
                      for d in payload.debts]  # fmt: skip
            continue
        cluster = PUBLISHED[payload.command][0]
        fields = {k: v for k, v in payload.snapshot_sub_payload.items() if not k.startswith("_")}
        snapshots.setdefault((cluster, payload.snapshot_cause), []).append(
            (payload.snapshot_time, payload.snapshot_payload_type, fields)
        )
    if snapshots:
        meter.commands.snapshots = snapshots
    if debts:
        meter.commands.debt_log = debts


def _template_request(use_case: str, rtds, period=None):
    root = duis.parse((CATALOGUE / f"{TEMPLATES[use_case]}_REQUEST_DUIS.XML").read_bytes())
    if period is not None:
        node = root.find(f".//{{{duis.SR}}}ReadLogPeriod")
        for name, text in zip(("StartDateTime", "EndDateTime"), period, strict=True):
            node.find(f"{{{duis.SR}}}{name}").text = text
    user = rtds.other_information.supplementary_remote_party or rtds.originator
    counter = rtds.other_information.supplementary_remote_party_counter or rtds.counter
    duis.set_originator(root, bytes(user), counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", sorted(FOLDERS))
def test_the_command_from_the_template_is_rtds(use_case):
    """The template's period is that of one of RTDS's commands (GCS15c's its ERROR one)."""
    rtds_all = [decode(read_hex(RTDS / n)) for n in COMMANDS if f"_{use_case}/" in f"_{n}"]
    matched = []
    for rtds in rtds_all:
        acb = AcbContext(ACB_EUI, rtds.counter)
        ours = transform(_template_request(use_case, rtds), use_case=use_case, acb=acb,
                         now=RTDS_TIME)  # fmt: skip
        end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
        content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
        matched.append(ours.precommand() == encode_apdu(rtds.header, content, None))
    assert any(matched), use_case
    assert use_case_for(rtds_all[0].use_case.srvs[0], "gsme") == use_case


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, meter, name):
    """RTDS's ERROR: a cluster's hardware fails at the get RTDS's fails at (the rest not
    carried out); its NOT_FOUND: a period the log holds nothing of."""
    use_case = name.split("/")[0].split("_")[1]
    _holding_rtds(keys, meter, name)
    if "_ERROR_" in name and use_case == "GCS15c":
        # RTDS's meter held a second prepayment snapshot, the one its hardware failed to read
        # (total_snapshots_found 2): its content never shown, a copy of the first stands in
        taken = meter.commands.snapshots[(PREPAYMENT, 2)]
        taken.append((taken[0][0] + 86400 * 31, *taken[0][1:]))
    if "_ERROR_" in name:
        meter.commands.faults.update({"GCS16a": {METERING: 29}, "GCS16b": {PREPAYMENT: 1},
                                      "GCS15c": {PREPAYMENT: 1},
                                      "GCS15d": {PREPAYMENT: 0}}[use_case])  # fmt: skip
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    if use_case not in DAILY:
        assert result.response == expected  # MAC'd and encrypted with static ECDH
        return
    got, want = decode(result.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    ours, theirs = _decrypted(keys, result.response), _decrypted(keys, expected)
    assert [p.total_snapshots_found for p in theirs] == [31] * len(theirs)
    assert [p.total_snapshots_found for p in ours] == [len(ours)] * len(ours)
    for payload in ours + theirs:
        payload.total_snapshots_found = None
    assert [plain(p) for p in ours] == [plain(p) for p in theirs]
    clear = [(plain(c.body.frame), c.body.frame.sequence) for c in got.payload.components
             if not c.control.encrypted]  # fmt: skip
    assert clear == [(plain(c.body.frame), c.body.frame.sequence)
                     for c in want.payload.components if not c.control.encrypted]  # fmt: skip


def _read(keys, meter, use_case: str, period, counter: int):
    rtds = decode(read_hex(RTDS / FOLDERS[use_case] / f"{TEMPLATES[use_case]}_COMMAND_GBCS.HEX"))
    ours = transform(_template_request(use_case, rtds, period), use_case=use_case,
                     acb=AcbContext(ACB_EUI, counter), now=RTDS_TIME)  # fmt: skip
    command = recounted(keys, mac_apdu(ours.unsigned_command(), keys.keystore), counter)
    result = meter.handle(command)
    assert result.outcome == "executed", result.outcome
    return result.response


def test_a_period_picks_the_snapshots_in_it(keys, meter):
    """From 2014-12-31 the daily read log holds one snapshot: offset 0 is it, the other 30
    offsets not_found."""
    response = _read(keys, meter, "GCS16a", ("2014-12-31T00:00:00Z", "2015-01-01T00:00:00Z"), 9000)
    [found] = _decrypted(keys, response)
    assert EPOCH + dt.timedelta(seconds=found.snapshot_time) == dt.datetime(2014, 12, 31, 9,
                                                                            tzinfo=dt.UTC)  # fmt: skip
    assert (found.snapshot_id, found.total_snapshots_found) == (0, 1)
    statuses = [c.body.frame.payload.status for c in decode(response).payload.components
                if not c.control.encrypted]  # fmt: skip
    assert statuses == ["not_found"] * 30


def test_a_period_picks_the_collections_in_it(keys, meter):
    response = _read(keys, meter, "GCS15d", ("2014-12-10T00:00:00Z", "2014-12-20T00:00:00Z"), 9001)
    [log] = _decrypted(keys, response)
    times = [EPOCH + dt.timedelta(seconds=d.collection_time) for d in log.debts]
    assert [t.day for t in times] == [10, 13, 16, 19]
    assert [d.amount_collected for d in log.debts] == [85000, 83000, 190000, 241000]
