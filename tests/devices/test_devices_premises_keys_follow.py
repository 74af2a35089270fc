"""The premises' key view follows the meter's own certificate replacement: after RTDS's
CS02c (6.17: a new key pair) and a CS02d (6.15.2) placing the certificate the test PKI issued
for that pair, `Premises.verify` — the back office's informational `response_verified` —
checks the meter's later answers with the new certificate, and an answer signed (or MAC'd)
with the old key no longer verifies. The real meter answers each command; each premises has
keys of its own (the replacement changes them)."""

from __future__ import annotations

import pytest
from cryptography import x509
from devices_helpers import RTDS, RTDS_KEYSTORE, RTDS_TIME, read_hex

from emulator.clock import Clock
from emulator.devices.credentials import USAGE_BITS
from emulator.devices.keys import SUPPLIER, VALIDITY_AT, FollowingKeystore, PremisesKeys
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import DS, KA, Keystore
from gbcs.message import encode_apdu
from gbcs.security import check_message, mac_apdu, sign, verify_apdu

ESME = bytes.fromhex("00DB1234567890A0")
ISSUE = RTDS / "6.17_CS02c/CS02c_6.17_SUCCESS_COMMAND_GBCS.HEX"  # counter 1000
UPDATE = RTDS / "6.15.2_CS02d/CS02d_6.15.2_SUCCESS_COMMAND_GBCS.HEX"
SIGNED = RTDS / "11.3_CS06/CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"  # a signed answer
READ = RTDS / "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX"  # a MAC'd answer


def _content(message) -> bytes:
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    return bytes(message.apdu[message.content_offset - message.apdu_offset : end])


def _command(keys: PremisesKeys, raw: bytes, counter: int, content: bytes | None = None):
    """An RTDS command from the Supplier with our counter (and content), signed where RTDS's
    is, MAC'd."""
    message = decode(raw)
    message.header.transaction_id.counter = counter
    body = _content(message) if content is None else content
    if message.signature:
        apdu = sign(encode_apdu(message.header, body, None), keys.signer(SUPPLIER))
    else:
        apdu = encode_apdu(message.header, body, b"")
    return mac_apdu(apdu, keys.keystore)


def _resigned(response: bytes, key) -> bytes:
    """The meter's signed answer, signed again with `key`."""
    message = decode(response)
    return sign(encode_apdu(message.header, _content(message), None), key)


def _remaced(response: bytes, keystore: Keystore) -> bytes:
    """The meter's MAC'd answer, MAC'd again with the KA pairing `keystore` holds."""
    return mac_apdu(bytes(decode(response).apdu), keystore)


def _replace(usage: str):
    """6.17 for `usage`, 6.15.2 with the certificate issued for its key, then a signed and a
    MAC'd answer: (keys, the premises, executions by name, the old private DS key)."""
    keys = PremisesKeys.open()
    old_signing = keys.device_signing_key(ESME)
    clock = Clock("simulated")
    request_content = bytes.fromhex("30040302") + USAGE_BITS[usage]

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(RTDS_TIME)
        try:
            done = {"before": await premises.execute(_command(keys, read_hex(SIGNED), 999))}
            done["issue"] = await premises.execute(
                _command(keys, read_hex(ISSUE), 1000, request_content)
            )
            csr = x509.load_der_x509_csr(encode_tree(decode(done["issue"].response).payload.tree))
            _serial, der = keys.pki.issue_device(ESME, usage, RTDS_TIME,
                                                 public_key=csr.public_key())  # fmt: skip
            done["update"] = await premises.execute(_command(keys, read_hex(UPDATE), 1001, der))
            done["signed"] = await premises.execute(_command(keys, read_hex(SIGNED), 1002))
            done["read"] = await premises.execute(_command(keys, read_hex(READ), 1003))
            done["der"] = der
            return done, premises
        finally:
            await premises.close()

    done, premises = clock.run(main)
    return keys, premises, done, old_signing


@pytest.fixture(scope="module")
def replaced_ds():
    return _replace(DS)


@pytest.fixture(scope="module")
def replaced_ka():
    return _replace(KA)


@pytest.mark.parametrize("name", ["before", "issue", "update", "signed", "read"])
def test_every_answer_around_a_ds_replacement_verifies(replaced_ds, name):
    keys, premises, done, _old = replaced_ds
    assert premises.esme.own_credentials.certificate(DS) == done["der"]
    assert bytes(decode(done["update"].response).payload.tree["value"]) == b"\x00"
    assert done[name].response_verified is True


def test_an_answer_signed_with_the_old_key_after_the_replacement_does_not(replaced_ds):
    keys, premises, done, old = replaced_ds
    answer = done["signed"].response
    assert premises.verify(_resigned(answer, premises.esme.responses.signing_key()))
    assert not premises.verify(_resigned(answer, old))
    # the answer the meter gave before the replacement was signed with that key
    verify_apdu(decode(done["before"].response).apdu, old.public_key())


def test_a_premises_started_again_from_the_keys_signs_with_the_new_key(replaced_ds):
    """A meter keeps its new key over a restart: the same keys give a premises whose signed
    answers verify, and whose 6.24.2 certificate would be the one installed."""
    keys, _premises, done, old = replaced_ds
    assert keys.device_signing_key(ESME) is not old
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(RTDS_TIME)
        try:
            return await premises.execute(_command(keys, read_hex(SIGNED), 2000)), premises
        finally:
            await premises.close()

    again, premises = clock.run(main)
    assert again.response_verified is True
    assert premises.esme.own_credentials.certificate(DS) == done["der"]


@pytest.mark.parametrize("name", ["before", "issue", "update", "signed", "read"])
def test_every_answer_around_a_ka_replacement_verifies(replaced_ka, name):
    """A KA certificate replaced: the meter MACs with the new one's key, and the premises'
    view pairs the Supplier's key with it."""
    keys, premises, done, _old = replaced_ka
    assert premises.esme.own_credentials.installed == {KA: done["der"]}
    assert bytes(decode(done["update"].response).payload.tree["value"]) == b"\x00"
    assert done[name].response_verified is True


def test_an_answer_maced_with_the_old_ka_key_after_the_replacement_does_not(replaced_ka):
    keys, premises, done, _old = replaced_ka
    answer = done["read"].response
    assert decode(answer).mac is not None
    assert premises.verify(_remaced(answer, keys.keystore))
    old_view = Keystore.open(RTDS_KEYSTORE, clock=VALIDITY_AT)  # the meter's KA as it was
    assert not premises.verify(_remaced(answer, old_view))


def test_the_keystore_withdraws_only_the_replaced_usage(replaced_ds):
    keys, _premises, done, _old = replaced_ds
    assert isinstance(keys.keystore, FollowingKeystore)
    [entry] = keys.keystore.entries(ESME, DS, valid_only=False)
    assert entry.certificate == x509.load_der_x509_certificate(done["der"])
    assert keys.keystore.entries(ESME, KA, valid_only=False)  # the KA one untouched


# --- a trust anchor replaced: the Supplier's key agreement cell ------------------------------

FIRMWARE_READ = RTDS / "11.2_ECS52/ECS52_11.2_SUCCESS_COMMAND_GBCS.HEX"  # MAC'd, not encrypted
ANCHOR = RTDS / (
    "6.15.1_CS02bSupplierBySupplier/CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"
)  # counter 1000: the Supplier's DS and KA cells take DCC Boxed's (Z1b) certificates


def test_answers_maced_with_the_supplier_new_key_agreement_key_verify():
    """RTDS's 6.15.1 places another Supplier KA certificate: the meter MACs its answers to
    the Supplier with that key from then on, and the premises' view pairs it (the remote
    parties' keystores hold its private key), so response_verified stays True."""
    keys = PremisesKeys.open()
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(RTDS_TIME)
        try:
            before = await premises.execute(_command(keys, read_hex(FIRMWARE_READ), 900))
            placed = await premises.execute(read_hex(ANCHOR))
            after = await premises.execute(_command(keys, read_hex(FIRMWARE_READ), 1001))
            return before, placed, after
        finally:
            await premises.close()

    before, placed, after = clock.run(main)
    assert placed.response_verified is True
    assert [before.response_verified, after.response_verified] == [True, True]
    # the shared keystore alone (RTDS's Supplier KA) no longer opens the answer's MAC
    assert check_message(decode(after.response), keys.keystore).outcome == "failed"
    # nor does the placed view pair an old-key MAC with anything: the old answer still
    # verifies with the shared keystore it was MAC'd for
    assert check_message(decode(before.response), keys.keystore).outcome == "verified"
