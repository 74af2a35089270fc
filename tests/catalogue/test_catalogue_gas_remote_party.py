"""Reads at the GPF for an unknown remote party (URP): 4.17 the daily consumption log (GCS61)
and 4.14 the prepayment daily read log (GCS16b), answered from the GPF's mirror of the meter
(its logs as at the meter's last wake) and encrypted for the party the request's
KAPublicSecurityCredentials name. The DSP sends a URP read from the ACB, naming that party (its
certificate's EUI) with its certificate in the header; a known party's read goes direct.
RTDS's GCS61 SUCCESS (URP) and NOT_FOUND are answered byte for byte; its GCS16b URP with RTDS's
header (the GPF's own counter as the supplementary originator counter, the one the encryption
uses) and payload but the daily read log's total_snapshots_found (RTDS's 31); a certificate
whose key nobody holds is a counted rejection. Parametrised by RTDS file name."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, TransformError, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter, GasProxy
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import check_message, mac_apdu
from gbcs.zcl import CLUSTER_COMMANDS

GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
COMMANDS = sorted(
    [str(p.relative_to(RTDS)) for p in RTDS.glob("4.17_GCS61/*_COMMAND_GBCS.HEX")]
    + [str(p.relative_to(RTDS)) for p in RTDS.glob("4.14_GCS16b/*_URP_*_COMMAND_GBCS.HEX")]
)
TEMPLATES = {"GCS61": "GCS61_4.17_SUCCESS", "GCS16b": "GCS16b_4.14_URP_SUCCESS"}
SAMPLED_DATA_RESPONSE = CLUSTER_COMMANDS["metering"][1][0x07]
INTERVAL = 1800.0


def _devices(keys, clock=None):
    gsme = GasMeter(GSME, keys, clock or Clock("simulated"), lambda: RTDS_TIME,
                    wake_interval_s=INTERVAL)  # fmt: skip
    return gsme, GasProxy(GPF, gsme, keys, lambda: RTDS_TIME)


def _template(use_case: str):
    root = duis.parse((CATALOGUE / f"{TEMPLATES[use_case]}_REQUEST_DUIS.XML").read_bytes())
    text = root.find(f".//{{{duis.SR}}}KAPublicSecurityCredentials").text
    return root, base64.b64decode(text)


@pytest.mark.parametrize("use_case", sorted(TEMPLATES))
def test_a_urp_read_is_sent_by_the_acb_with_the_party_and_its_certificate(use_case):
    root, certificate = _template(use_case)
    request = duis.parse_request(root)
    ours = transform(request, use_case=use_case, acb=AcbContext(ACB_EUI, 7000), now=RTDS_TIME)
    header = ours.header
    other = header.other_information
    party = x509.load_der_x509_certificate(certificate).subject.get_attributes_for_oid(
        NameOID.X500_UNIQUE_IDENTIFIER)[0].value[1:]  # fmt: skip
    assert (bytes(header.originator), header.transaction_id.counter) == (ACB_EUI, 7000)
    assert bytes(other.supplementary_remote_party) == party
    assert other.supplementary_remote_party_counter == request.request_id.counter
    assert bytes(other.certificate) == certificate and ours.via_acb and not ours.critical
    sent = decode(ours.unsigned_command())  # the header and its certificate encode and decode
    assert bytes(sent.header.other_information.certificate) == certificate
    assert use_case_for(sent.use_case.srvs[0], "gpf") == use_case


def test_the_daily_consumption_read_asks_for_each_day_of_the_period():
    root, _certificate = _template("GCS61")
    frame = decode(transform(duis.parse_request(root), use_case="GCS61",
                             acb=AcbContext(ACB_EUI, 1), now=RTDS_TIME).unsigned_command()
                   ).payload.components[0].body.frame  # fmt: skip
    assert (frame.payload.sample_id, frame.payload.number_of_samples) == (1, 11)  # 10..20 Dec
    assert EPOCH + dt.timedelta(seconds=frame.payload.earliest_sample_time) == dt.datetime(
        2014, 12, 10, tzinfo=dt.UTC)  # fmt: skip


def test_a_known_party_s_read_goes_direct(keys):
    root, _certificate = _template("GCS61")
    credentials = root.find(f".//{{{duis.SR}}}KAPublicSecurityCredentials")
    credentials.getparent().remove(credentials)
    ours = transform(duis.parse_request(root), use_case="GCS61", now=RTDS_TIME)
    assert not ours.via_acb and not ours.header.other_information.certificate


def test_a_credential_that_is_no_certificate_is_refused():
    root, _certificate = _template("GCS61")
    root.find(f".//{{{duis.SR}}}KAPublicSecurityCredentials").text = "bm90IGEgY2VydA=="
    with pytest.raises(TransformError, match="no X.509 certificate"):
        transform(duis.parse_request(root), use_case="GCS61", acb=AcbContext(ACB_EUI, 1))


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds_from_the_mirror(keys, name):
    _gsme, gpf = _devices(keys)
    result = gpf.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    if "GCS61" in name:
        assert result.response == expected  # encrypted for the URP: byte for byte
        return
    got, want = decode(result.response), decode(expected)
    assert plain(got.header) == plain(want.header)  # the GPF's own counter, 2000
    assert check_message(got, keys.keystore).outcome == "verified"
    check_message(want, keys.keystore)
    table = CLUSTER_COMMANDS["prepayment"][1][0x01]
    ours = [table.parse(p) for p in got.decrypted]
    theirs = [table.parse(p) for p in want.decrypted]
    assert [p.total_snapshots_found for p in theirs] == [31, 31]
    for payload in ours + theirs:
        payload.total_snapshots_found = None
    assert [plain(p) for p in ours] == [plain(p) for p in theirs]


def _self_signed() -> bytes:
    """A P-256 certificate whose private key no keystore holds (the device reads only its
    key: the party is the header's)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody's")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(RTDS_TIME).not_valid_after(RTDS_TIME.replace(year=2040))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.DER)


def test_a_party_whose_key_nobody_holds_is_a_counted_rejection(keys):
    _gsme, gpf = _devices(keys)
    rtds = decode(read_hex(RTDS / "4.17_GCS61/GCS61_4.17_SUCCESS_COMMAND_GBCS.HEX"))
    header = rtds.header
    header.other_information.certificate = _self_signed()
    end = len(rtds.apdu) - 1  # the empty signature
    content = bytes(rtds.apdu[rtds.content_offset - rtds.apdu_offset : end])
    command = mac_apdu(encode_apdu(header, content, b""), keys.keystore)
    result = gpf.handle(command)
    assert result.outcome == "rejected:unsupported-use-case" and result.response is None
    assert gpf.stats["rejected:unsupported-use-case"] == 1


def test_the_gpf_answers_what_the_meter_said_at_its_last_wake(keys):
    """A day the meter logs after its last wake is not in the GPF's answer until the meter
    wakes again (here for a firmware read queued at the GPF)."""
    clock = Clock("simulated")
    rtds = read_hex(RTDS / "4.17_GCS61/GCS61_4.17_SUCCESS_COMMAND_GBCS.HEX")
    firmware = read_hex(next(RTDS.glob("11.2_GCS38/*_SUCCESS_COMMAND*")))

    def samples(response: bytes) -> list[int]:
        message = decode(response)
        check_message(message, keys.keystore)
        return list(SAMPLED_DATA_RESPONSE.parse(message.decrypted[0]).samples)

    async def scenario():
        gsme, gpf = _devices(keys, clock)
        before = samples(gpf.handle(rtds).response)
        gsme.commands.sampled[1].samples.append(4242)  # the meter logs another day
        unchanged = samples(gpf.handle(_recounted(keys, rtds, 1400)).response)
        await gpf.for_gsme(firmware)  # the meter wakes
        after = samples(gpf.handle(_recounted(keys, rtds, 1401)).response)
        return before, unchanged, after

    before, unchanged, after = clock.run(scenario)
    assert unchanged == before and after == [*before, 4242]


def _recounted(keys, raw: bytes, counter: int) -> bytes:
    message = decode(raw)
    header = message.header
    header.transaction_id.counter = counter
    end = len(message.apdu) - 1
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    return mac_apdu(encode_apdu(header, content, b""), keys.keystore)
