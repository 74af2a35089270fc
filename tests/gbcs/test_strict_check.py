"""The strict verdicts of gbcs.check: each rule fails a message built to break it (with a
valid MAC where one applies, so only the rule under test can catch it), names the rule and
the byte offset; RTDS passes except for what no key can verify."""

import datetime as dt
import os
import shutil
import struct
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from rtds_vectors import (
    RTDS_KEYSTORE,
    RTDS_ROOT,
    child_processes,
    params,
    read_vector,
    rtds_files,
    rtds_keystore,
)

import gbcs.check
from gbcs import decode, encode
from gbcs.check import (
    RULES,
    UNVERIFIABLE_RULES,
    Source,
    Verdict,
    check_message_bytes,
    check_sources,
    iter_sources,
    unchecked_encryption,
)
from gbcs.errors import GbcsError
from gbcs.framing import read_general_signing, write_general_ciphering
from gbcs.judge import _message_code_offset
from gbcs.keystore import Keystore
from gbcs.message import encode_apdu
from gbcs.primitives import encode_length, noncanonical_reads, read_length_form
from gbcs.roles import Role
from gbcs.security import check_message, mac_apdu, wrap_with_mac

DEACTIVATE = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
READ_LABELS = RTDS_ROOT / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"
LABELS_RESPONSE = RTDS_ROOT / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX"
GAS_READ = RTDS_ROOT / "4.13_GCS21b" / "GCS21b_4.13_SUCCESS_COMMAND_GBCS.HEX"
DEVICE_TO_DEVICE = {"PCS02_NA_SUCCESS_COMMAND_GBCS.HEX", "PCS02_NA_SUCCESS_RESPONSE_GBCS.HEX"}
ACB = "90B3D51F30000002"
ESME = "00db1234567890a0"


def rules(result) -> list[str]:
    return [v.rule for v in result.verdicts]


def only(result, rule: str) -> Verdict:
    """The one verdict of a message built to break one rule."""
    assert rules(result) == [rule], result.failures
    return result.verdicts[0]


def remac(apdu: bytes) -> bytes:
    """A DD message around an edited APDU, MAC'd with the RTDS keys as the DCC would."""
    return mac_apdu(bytes(apdu), rtds_keystore())


def apdu_of(path) -> bytearray:
    return bytearray(decode(read_vector(path)).apdu)


# --- RTDS ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", params(rtds_files()))
def test_rtds_passes_strictly_but_for_device_to_device(path):
    result = check_message_bytes(path.name, read_vector(path), rtds_keystore())
    if path.name in DEVICE_TO_DEVICE:
        assert rules(result) == ["mac-unverifiable"]
        assert "KA private key" in result.verdicts[0].detail
    else:
        assert result.verdicts == [], result.failures


def test_allow_unverifiable_relaxes_a_missing_key_only():
    path = RTDS_ROOT / "NA_PCS02" / "PCS02_NA_SUCCESS_COMMAND_GBCS.HEX"
    result = check_message_bytes(path.name, read_vector(path), rtds_keystore(),
                                 allow_unverifiable=True)  # fmt: skip
    assert result.verdicts == []
    assert [v.rule for v in result.allowed] == ["mac-unverifiable"]


def test_without_a_keystore_a_signed_message_is_unverifiable():
    result = check_message_bytes(DEACTIVATE.name, read_vector(DEACTIVATE), None)
    assert rules(result) == ["signature-unverifiable", "mac-unverifiable"]
    relaxed = check_message_bytes(DEACTIVATE.name, read_vector(DEACTIVATE), None,
                                  allow_unverifiable=True)  # fmt: skip
    assert relaxed.verdicts == [] and len(relaxed.allowed) == 2


# --- certificates outside their validity ------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "rule", "words"),
    [
        (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "certificate-expired", "expired 2025-10-29"),
        (dt.datetime(2010, 1, 1, tzinfo=dt.UTC), "certificate-not-yet-valid", "not valid before"),
    ],
)
def test_certificate_outside_validity_is_said_as_such_and_never_relaxed(when, rule, words):
    keystore = Keystore.open(RTDS_KEYSTORE, clock=when)
    data = read_vector(DEACTIVATE)
    result = check_message_bytes(DEACTIVATE.name, data, keystore, allow_unverifiable=True)
    assert rules(result) == [rule, rule]  # the Supplier's signature and the ACB's MAC
    signature, mac = result.verdicts
    assert words in signature.detail and "90B3D51F30010000" in signature.detail
    assert "missing" not in signature.detail
    assert signature.offset == len(data) - 12 - 64 and mac.offset == len(data) - 12


# --- the form of a message --------------------------------------------------------------------
def test_junk_in_the_dd_header_fails_though_the_mac_holds():
    data = read_vector(READ_LABELS)
    junk = b"\xdd\x02\xab\xcd" + data[2:]  # the DD transaction id field: 2 bytes, not empty
    result = check_message_bytes("junk", junk, rtds_keystore())
    verdict = only(result, "header")
    assert verdict.offset == 1 and "transaction id" in verdict.detail
    assert result.security.mac.status == "verified"


def test_critical_command_without_signature_fails():
    apdu = apdu_of(DEACTIVATE)
    unsigned = apdu[:-65] + b"\x00"  # 40 + r || s becomes 00, then MAC'd again
    data = remac(unsigned)
    verdict = only(check_message_bytes("unsigned", data, rtds_keystore()), "critical-unsigned")
    assert verdict.offset == len(data) - 12 - 1
    assert "ECS47" in verdict.detail


def test_gbz_payload_under_a_dlms_message_code_fails():
    gas = decode(read_vector(GAS_READ))
    labels = decode(read_vector(READ_LABELS))
    apdu = bytearray(gas.apdu)
    at = _message_code_offset(gas) - gas.apdu_offset
    apdu[at : at + 2] = labels.message_code.to_bytes(2, "big")  # ECS61a: an ESME's DLMS
    data = remac(apdu)
    verdict = only(check_message_bytes("gbz-as-dlms", data, rtds_keystore()), "payload-kind")
    assert verdict.offset == gas.content_offset
    assert "ECS61a" in verdict.detail and "gbz" in verdict.detail


def test_response_payload_under_a_command_flag_fails():
    response = decode(read_vector(LABELS_RESPONSE))
    apdu = bytearray(response.apdu)
    apdu[2] = 1  # CRA flag: command, though the payload is a DLMS access response
    data = remac(apdu)
    verdict = only(check_message_bytes("flag", data, rtds_keystore()), "direction")
    assert verdict.offset == response.content_offset
    assert "dlms-access-response" in verdict.detail


def test_unknown_message_code_fails_at_its_offset():
    message = decode(read_vector(READ_LABELS))
    apdu = bytearray(message.apdu)
    at = _message_code_offset(message) - message.apdu_offset
    apdu[at : at + 2] = b"\xff\xf0"
    data = remac(apdu)
    result = check_message_bytes("code", data, rtds_keystore())
    verdict = only(result, "unknown-message-code")
    assert verdict.offset == _message_code_offset(message) and "0xFFF0" in verdict.detail


def test_cra_flag_outside_its_values_fails():
    message = decode(read_vector(LABELS_RESPONSE))
    apdu = bytearray(message.apdu)
    apdu[2] = 4
    data = wrap_with_mac(bytes(apdu), bytes(12))
    result = check_message_bytes("cra", data, rtds_keystore())
    assert "header" in rules(result)
    header = next(v for v in result.verdicts if v.rule == "header")
    assert header.offset == message.apdu_offset + 2


TOP_UP_RESPONSE = RTDS_ROOT / "2.2_CS01a" / "CS01a_2.2_ERROR_RESPONSE_GBCS.HEX"


@pytest.mark.parametrize(
    ("at", "value", "words"),
    [
        (2, 13, "month 13"),  # the date-time's month
        (5, 24, "hour 24"),
        (9, 0x7F, "deviation"),  # first byte of the deviation: +32,5xx minutes
        (3, 30, "is no date"),  # day 30 of month 2, once the month is set below
    ],
)
def test_date_time_out_of_range_fails_though_the_mac_holds(at, value, words):
    message = decode(read_vector(TOP_UP_RESPONSE))
    assert message.header["date_time"] is not None and message.kind == "mac"
    apdu = bytearray(message.apdu)
    start = 1 + 10 + 9 + 9 + 1  # after DF, the transaction id, both titles and 0C
    apdu[start + at] = value
    if words == "is no date":
        apdu[start + 2] = 2
    data = remac(apdu)
    verdict = only(check_message_bytes("date", data, rtds_keystore()), "header")
    assert words in verdict.detail
    assert verdict.offset == message.apdu_offset + start + (0 if words == "is no date" else at)


READING = RTDS_ROOT / "4.1.1_ECS17b" / "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX"


def test_a_tampered_encrypted_part_fails_where_it_starts_though_the_mac_holds():
    data = read_vector(READING)
    message = decode(data)
    fragment_at = data.index(bytes.fromhex("3100000000"))
    apdu = bytearray(message.apdu)
    apdu[fragment_at - message.apdu_offset + 6] ^= 0x01  # a ciphertext byte
    edited = remac(apdu)
    verdict = only(check_message_bytes("reading", edited, rtds_keystore()), "decryption-invalid")
    assert verdict.offset == fragment_at
    assert "decryption[0]" in verdict.detail


GAS_ENCRYPTED = "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX"


def test_encrypted_parts_never_reached_are_unverifiable_not_verified():
    """A report whose decryption checks never ran (as for a layout the codec cannot yet
    collect fragments from) leaves the encrypted components unverified."""
    (path,) = rtds_files(GAS_ENCRYPTED.removesuffix(".HEX"))
    message = decode(read_vector(path))
    full = check_message(message, rtds_keystore())
    assert full.decryption and unchecked_encryption(message, full) == []
    blind = check_message(message, rtds_keystore(), fragments=[])
    (verdict,) = unchecked_encryption(message, blind)
    assert verdict.rule == "decryption-unverifiable" and verdict.unverifiable
    assert verdict.offset == message.content_offset
    assert f"{len(full.decryption)} of {len(full.decryption)}" in verdict.detail


def test_trailing_bytes_fail_at_the_first_one():
    data = read_vector(DEACTIVATE)
    verdict = only(check_message_bytes("tail", data + b"\x00", rtds_keystore()), "trailing-bytes")
    assert verdict.offset == len(data)


# --- re-encode: forms decode reads that its writers write otherwise ------------------------
# The check rebuilds a message only where decode counted such a form (a length form longer
# than it need be, a NaN, an unnamed enum byte); a reader that failed to count one would
# let its message pass.
DF_DATE_TIME_AT = 29  # DF 09 CRA counter(8) 08 originator(8) 08 target(8)


def longer(form: bytes) -> bytes:
    """The same length one byte longer than its shortest form: 05 -> 81 05, 81 90 -> 82 00
    90, 82 01 00 -> 83 00 01 00."""
    value = read_length_form(form, 0)[0]
    size = len(form) if form[0] >= 0x80 else 1  # the value's bytes, plus one leading zero
    return bytes((0x80 | size,)) + value.to_bytes(size, "big")


def relengthened(data: bytes) -> list[tuple[str, bytes, int]]:
    """(which length, the message with that length form lengthened, the form's offset): the
    DD service, the DF other information and content, and a DLMS or DER payload's first."""
    message = decode(data)
    apdu, mac, signature = message.apdu, message.mac, message.signature
    signature_field = 0 if signature is None else 1 + len(signature)
    content_at = message.content_offset - message.apdu_offset
    content = read_general_signing(apdu)[1]
    variants = []

    def wrapped(which: str, edited: bytes, at: int) -> None:
        """`edited` (an APDU) as the message carried it (with its old MAC): `at` in it."""
        whole = in_envelope(message, edited)
        apdu_at = len(whole) - len(edited) - (0 if mac is None else len(mac))
        variants.append((which, whole, apdu_at + at))

    at = DF_DATE_TIME_AT + (1 if message.header["date_time"] is None else 13)
    end = read_length_form(apdu, at)[1]
    wrapped("other information", apdu[:at] + longer(apdu[at:end]) + apdu[end:], at)
    at = content_at - len(encode_length(len(content)))
    wrapped("content", apdu[:at] + longer(apdu[at:content_at]) + apdu[content_at:], at)
    kind, first = message.payload_kind, None
    if kind.startswith("dlms-"):
        head = 5 + (1 if content[5] == 0 else 13)  # tag, invoke id, date-time
        if kind == "dlms-access-request":
            first = head  # the specifications' count
        elif kind == "dlms-access-response":
            first = head + 1  # after the echoed-specifications flag
        elif content[head] in (1, 2, 9):  # a notification's array, structure or octets
            first = head + 1
    elif kind == "asn1":
        first = 1  # the outer TLV's length (a DER tree keeps a longer form and re-encodes it)
    if first is not None:
        end = read_length_form(content, first)[1]
        edited = content[:first] + longer(content[first:end]) + content[end:]
        new_apdu = encode_apdu(message.header, edited, signature)
        which = "der" if kind == "asn1" else "a-xdr"
        wrapped(which, new_apdu, len(new_apdu) - signature_field - len(edited) + first)
    if message.envelope is not None:
        form = encode_length(5 + len(apdu) + len(mac))
        at = message.apdu_offset - 5 - len(form)
        variants.append(("service", data[:at] + longer(form) + data[at + len(form) :], at))
    return variants


@pytest.mark.parametrize("path", params(rtds_files()))
def test_a_longer_length_form_fails_re_encode(path):
    """At the form, or at an enclosing length (which counts the byte it gained) before it;
    but a DER length is kept as it came, and re-encodes as it was."""
    data = read_vector(path)
    outermost = "service" if data[0] == 0xDD else "other information"  # no length encloses it
    for which, edited, at in relengthened(data):
        result = check_message_bytes(path.name, edited, rtds_keystore())
        found = [v.offset for v in result.verdicts if v.rule == "re-encode"]
        if which == "der":  # kept as it came (RTDS's CS02b/g send 82 00 xx): it passes
            assert found == [] and encode(decode(edited)) == edited
            continue
        assert found and found[0] <= at, f"{which} length at {at}: {result.failures}"
        if which == outermost:
            assert found == [at]


def test_the_count_is_kept_per_thread():
    """A long form read in one thread is counted there: a check in another thread is not
    told of it, and cannot have its own hidden by another thread's count."""
    _, edited, _ = relengthened(read_vector(DEACTIVATE))[0]
    before = noncanonical_reads()
    results = []
    thread = threading.Thread(
        target=lambda: results.append(check_message_bytes("thread", edited, rtds_keystore()))
    )
    thread.start()
    thread.join()
    assert "re-encode" in rules(results[0])
    assert noncanonical_reads() == before  # counted in that thread, not in this one


ERROR_RESPONSE = rtds_files("ECS04a_1.5_ERROR_RESPONSE_GBCS")[0]  # one null-data item


def with_dlms_content(path, edit) -> bytes:
    """The message at `path` with its DLMS content edited (lengths around it rewritten)."""
    message = decode(read_vector(path))
    content = edit(read_general_signing(message.apdu)[1])
    return in_envelope(message, encode_apdu(message.header, content, message.signature))


def in_envelope(message, apdu: bytes) -> bytes:
    """`apdu` in `message`'s DD envelope with its old MAC, or alone if it came without one."""
    if message.envelope is None:
        return apdu
    return write_general_ciphering(message.envelope, apdu + message.mac)


@pytest.mark.parametrize(
    "bits, nan, differs",
    [
        ("7f800001", True, True),
        ("ff800123", True, True),
        ("3f800000", False, False),
        ("7fc00000", True, False),
    ],
    ids=["signalling-nan", "negative-signalling-nan", "one", "quiet-nan"],
)
def test_a_float32_fails_re_encode_only_when_its_bits_do_not_pack_back(bits, nan, differs):
    null_item = bytes.fromhex("0100")  # the data list: one null-data item
    edited = with_dlms_content(
        ERROR_RESPONSE, lambda c: c.replace(null_item, bytes.fromhex("0117" + bits), 1)
    )
    before = noncanonical_reads()
    result = check_message_bytes("float32", edited, rtds_keystore())
    assert ("re-encode" in rules(result)) is differs
    assert (noncanonical_reads() > before) is nan  # every NaN counted, and rebuilt


GAS_READ_RESPONSE = rtds_files("GCS21b_4.13_SUCCESS_RESPONSE_GBCS")[0]  # uint16 and uint32 reads


def with_zcl_float(path, width: int, bits: str) -> bytes:
    """The message at `path` with its first read attribute record of a `width`-bit unsigned
    integer retyped as a float of the same width holding `bits` (big-endian hex)."""
    data = read_vector(path)
    message = decode(data)
    integer, real = {16: (0x21, 0x38), 32: (0x23, 0x39)}[width]
    for component in message.payload["components"]:
        for record in component.body.frame.payload.get("records") or []:
            if record.get("data_type") == f"uint{width}":
                head = struct.pack("<HBB", record.attribute_id, 0, integer)
                was = head + record.value.to_bytes(width // 8, "little")
                now = head[:3] + bytes((real,)) + bytes.fromhex(bits)[::-1]
                assert data.count(was) == 1
                return data.replace(was, now)
    raise AssertionError(f"no uint{width} record in {path.name}")


@pytest.mark.parametrize(
    "width, bits, nan, differs",
    [
        (32, "7f800001", True, True),
        (32, "7fc00000", True, False),
        (32, "3f800000", False, False),
        (16, "7c01", True, True),
        (16, "7e00", True, False),
        (16, "3c00", False, False),
    ],
    ids=[
        "single-signalling-nan",
        "single-quiet-nan",
        "single-one",
        "half-nan-payload",
        "half-quiet-nan",
        "half-one",
    ],
)
def test_a_zcl_float_fails_re_encode_only_when_its_bits_do_not_pack_back(width, bits, nan, differs):
    edited = with_zcl_float(GAS_READ_RESPONSE, width, bits)
    before = noncanonical_reads()
    result = check_message_bytes("float", edited, rtds_keystore())
    assert ("re-encode" in rules(result)) is differs
    assert (noncanonical_reads() > before) is nan


def test_an_unnamed_access_result_is_rebuilt_to_judge_it():
    edited = with_dlms_content(ERROR_RESPONSE, lambda c: c[:-1] + b"\xfe")
    before = noncanonical_reads()
    result = check_message_bytes("unnamed", edited, rtds_keystore())
    assert noncanonical_reads() > before
    try:
        same = encode(decode(edited)) == edited
    except GbcsError:
        same = False
    assert ("re-encode" in rules(result)) is not same


def test_message_with_neither_signature_nor_mac_fails():
    apdu = decode(read_vector(LABELS_RESPONSE)).apdu  # a response, 00 signature field
    verdict = only(check_message_bytes("bare", apdu, rtds_keystore()), "unprotected")
    assert verdict.offset == len(apdu) - 1


def test_precommand_passes_on_its_form():
    path = rtds_files("ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS")[0]
    result = check_message_bytes(path.name, read_vector(path), rtds_keystore())
    assert result.verdicts == [] and result.kind == "precommand"


def test_every_rule_is_described_and_relaxable_ones_are_rules():
    assert UNVERIFIABLE_RULES <= set(RULES)
    assert all(RULES.values())


# --- anchors and bare public keys ---------------------------------------------------------------
def bare_public_key(certificate_pem: bytes) -> bytes:
    from cryptography import x509

    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def keystore_with_bare_keys(tmp_path, *names: str):
    """The RTDS keystore with some certificates replaced by their bare public keys."""
    folder = tmp_path / "keys"
    shutil.copytree(RTDS_KEYSTORE, folder)
    for name in names:
        path = folder / name
        path.write_bytes(bare_public_key(path.read_bytes()))
    return folder


def test_bare_device_public_key_verifies_a_mac(tmp_path):
    folder = keystore_with_bare_keys(tmp_path, f"{ESME}-ka.pem")
    keystore = Keystore.open(folder, clock=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    (entry,) = keystore.ka_public_keys(ESME)
    assert entry.certificate is None
    result = check_message_bytes(READ_LABELS.name, read_vector(READ_LABELS), keystore)
    assert result.verdicts == [] and result.security.mac.status == "verified"


def test_acb_comes_from_the_keystore_or_a_flag_not_the_code(tmp_path):
    folder = keystore_with_bare_keys(tmp_path, f"{ACB.lower()}-ka.pem", f"{ACB.lower()}-ds.pem")
    keystore = Keystore.open(folder, clock=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert keystore.anchors(Role.ACCESS_CONTROL_BROKER) == []  # no certificate says role 04
    data = read_vector(READ_LABELS)
    result = check_message_bytes(READ_LABELS.name, data, keystore)
    verdict = only(result, "mac-unverifiable")
    assert "Access Control Broker" in verdict.detail
    keystore.add_anchor(Role.ACCESS_CONTROL_BROKER, ACB)  # what --acb does
    assert check_message_bytes(READ_LABELS.name, data, keystore).verdicts == []


def test_workers_give_the_same_results_in_the_same_order(tmp_path):
    """check_sources with jobs > 1 (forked workers) reports every message as one process
    does: the same verdicts, relaxed verdicts and JSON, in the sources' order, the same
    totals; a broken file among them is reported where it stands."""
    folder = tmp_path / "mixed"
    shutil.copytree(RTDS_ROOT / "7.6_ECS47Deactivate", folder / "a")
    shutil.copytree(RTDS_ROOT / "NA_PCS02", folder / "b")  # unverifiable without a device key
    shutil.copytree(RTDS_ROOT / "4.13_GCS21b", folder / "c")
    (folder / "b" / "broken.hex").write_text("DF09zz")
    tampered = bytearray(read_vector(DEACTIVATE))
    tampered[40] ^= 0x01
    (folder / "c" / "tampered.hex").write_text(tampered.hex())
    sources = list(iter_sources([str(folder)])) * 6  # enough for several batches
    runs = {}
    for jobs in (1, 2, 3):
        seen = []
        totals = check_sources(
            sources,
            rtds_keystore(),
            lambda _, result, seen=seen: seen.append(result.as_dict()),
            allow_unverifiable=jobs == 2,  # relaxed verdicts must travel back too
            jobs=jobs,
        )
        runs[jobs] = (seen, totals.as_dict())
    assert len(runs[1][0]) == len(sources)
    assert runs[3] == runs[1]
    assert [r["source"] for r in runs[2][0]] == [s.name for s in sources]
    assert runs[2][1]["files"] == runs[1][1]["files"]
    assert any(r["allowed_unverifiable"] for r in runs[2][0])
    failed = {r["source"] for r in runs[1][0] if not r["passed"]}
    assert {"b/broken.hex", "c/tampered.hex"} <= failed


def test_workers_check_later_rounds_sent_through_their_pipes(monkeypatch):
    """The first round's shares go to the workers with the fork, later rounds through
    the pipes: with rounds of 3 x 40 messages, 150 come back as one process gives them."""
    monkeypatch.setattr(gbcs.check, "_ROUND_SHARE", 40)
    folders = ("7.6_ECS47Deactivate", "7.7_ECS61a", "4.13_GCS21b", "NA_PCS02")
    listed = [s for name in folders for s in iter_sources([str(RTDS_ROOT / name)], read=False)]
    sources = (listed * 40)[:150]  # three full rounds and a short last one
    expected, seen = [], []
    check_sources(sources, rtds_keystore(), lambda _, r: expected.append(r.as_dict()), jobs=1)
    totals = check_sources(sources, rtds_keystore(), lambda _, r: seen.append(r.as_dict()), jobs=3)
    assert seen == expected and totals.files == 150
    assert [r["source"] for r in seen] == [s.name for s in sources]


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_every_chunk_is_checked_once_by_the_process_that_claims_it(jobs, tmp_path):
    """Each source is checked once, by one process, every process checks some, and the
    results come back in the sources' order, whatever the chunks' sizes against the round."""
    log = tmp_path / "checked"
    check = gbcs.check._check_source

    def logged(source, *args):
        line = f"{os.getpid()} {source.name}\n".encode()
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)  # one small append: whole, whoever else writes
        finally:
            os.close(fd)
        return check(source, *args)

    data = read_vector(READ_LABELS)
    sources = [Source(f"m{n}", data) for n in range(gbcs.check._MIN_SHARED + 5 * jobs + 3)]
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gbcs.check, "_check_source", logged)
        totals = check_sources(
            sources, rtds_keystore(), lambda _, r: seen.append(r.name), jobs=jobs
        )
    assert seen == [s.name for s in sources] and totals.failed == 0
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(name for _, name in lines) == sorted(s.name for s in sources)
    assert len({pid for pid, _ in lines}) == jobs


def test_a_slow_worker_leaves_its_share_to_the_others():
    """The processes claim chunks as they free up: with one worker slowed (a busy core),
    this process checks most of the messages, and the results are those of one process."""
    parent, check = os.getpid(), gbcs.check._check_source
    checked_here = []

    def slowed(source, *args):
        if os.getpid() == parent:
            checked_here.append(source.name)
        else:
            time.sleep(0.01)
        return check(source, *args)

    sources = list(iter_sources([str(RTDS_ROOT / "7.7_ECS61a")])) * 40
    expected, seen = [], []
    check_sources(sources, rtds_keystore(), lambda _, r: expected.append(r.as_dict()), jobs=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gbcs.check, "_check_source", slowed)
        check_sources(sources, rtds_keystore(), lambda _, r: seen.append(r.as_dict()), jobs=2)
    assert seen == expected
    assert len(checked_here) > 0.75 * len(sources)


def test_workers_read_the_files_they_check(tmp_path):
    """Sources named but not read (read=False, as gbhan gbcs check lists a folder) give the
    same results in workers as read ones in process; a file gone since it was listed is
    unreadable where it stands."""
    folder = tmp_path / "named"
    for name in ("7.6_ECS47Deactivate", "7.7_ECS61a", "4.13_GCS21b", "NA_PCS02"):
        shutil.copytree(RTDS_ROOT / name, folder / name)
    listed = list(iter_sources([str(folder)], read=False)) * 8
    assert all(s.data is None and s.path for s in listed) and len(listed) >= 96
    (folder / "7.7_ECS61a" / READ_LABELS.name).unlink()
    read = [s.read() for s in listed]
    expected, seen = [], []
    check_sources(read, rtds_keystore(), lambda _, r: expected.append(r.as_dict()), jobs=1)
    totals = check_sources(listed, rtds_keystore(), lambda _, r: seen.append(r.as_dict()), jobs=2)
    assert seen == expected and totals.files == len(listed)
    gone = [r for r in seen if r["source"] == f"7.7_ECS61a/{READ_LABELS.name}"]
    assert len(gone) == 8 and all(r["verdicts"][0]["rule"] == "unreadable" for r in gone)


def test_a_worker_that_fails_says_why(monkeypatch):
    """A bug in a worker (an exception no message should raise) stops the sweep with it."""

    parent, check = os.getpid(), gbcs.check._check_source

    def broken(*args):
        if os.getpid() == parent:  # this process checks a share too
            return check(*args)
        raise RuntimeError("a bug")

    monkeypatch.setattr(gbcs.check, "_check_source", broken)
    sources = list(iter_sources([str(RTDS_ROOT / "7.7_ECS61a")])) * 30
    with pytest.raises(GbcsError) as error:
        check_sources(sources, rtds_keystore(), jobs=2)
    assert "worker process failed: RuntimeError: a bug" in error.value.detail


def test_a_sweep_left_early_leaves_no_worker_behind():
    """A caller that stops reading results (an interrupted check) ends and reaps every
    worker: none is left running or a zombie."""
    sources = list(iter_sources([str(RTDS_ROOT / "7.7_ECS61a")])) * 60
    before = child_processes()
    results = gbcs.check._check_in_workers(iter(sources), rtds_keystore(), False, 3)
    next(results)
    assert len(child_processes() - before) == 2  # and this process the third
    results.close()
    assert child_processes() == before


@pytest.mark.parametrize("path", [READ_LABELS, LABELS_RESPONSE], ids=["command", "response"])
def test_a_dlms_invoke_id_that_is_not_the_counter_fails_though_the_mac_holds(path):
    message = decode(read_vector(path))
    apdu = apdu_of(path)
    start = message.content_offset - message.apdu_offset  # the DLMS tag, then the invoke id
    apdu[start + 4] ^= 0x01  # its last byte
    data = remac(apdu)
    verdict = only(check_message_bytes("invoke", data, rtds_keystore()), "invoke-id")
    edited = decode(data)
    assert verdict.offset == edited.content_offset + 2
    assert f"counter {message.counter}" in verdict.detail
    # the priority byte is not the counter's: changing it is no failure of this rule
    apdu = apdu_of(path)
    apdu[start + 1] = 0x40
    assert rules(check_message_bytes("priority", remac(apdu), rtds_keystore())) == []


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch):
    """A worker killed mid-batch (out of memory, a signal) breaks the sweep with a
    GbcsError naming what happened; it never waits for the lost batch."""

    parent, check = os.getpid(), gbcs.check._check_source

    def die(*args):
        if os.getpid() == parent:  # this process checks a share too
            return check(*args)
        os._exit(3)  # as a worker killed by the system ends: no exception, no result

    monkeypatch.setattr(gbcs.check, "_check_source", die)
    sources = list(iter_sources([str(RTDS_ROOT / "7.7_ECS61a")])) * 30
    with pytest.raises(GbcsError) as error:
        check_sources(sources, rtds_keystore(), jobs=2)
    assert error.value.layer == "check" and "worker process died" in error.value.detail
    assert "exit status 3" in error.value.detail
