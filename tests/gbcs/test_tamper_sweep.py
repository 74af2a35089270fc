"""No tampering passes the strict check, and no input breaks the codec.

The tamper sweep edits every fully verifiable RTDS message (all but the pre-commands, which
carry nothing to verify yet, and the device-to-device PCS02 pair, whose MAC needs a device's
private key) with single-bit flips, byte insertions and deletions: at least 20,000 in all, a
sample seeded by the file name so a failure repeats. None may pass.

The mutation sweep drives at least 100,000 mutated inputs through decode, encode, verify,
render and check: each either works or raises a GbcsError subclass naming its layer (and an
offset inside the input); pytest-timeout fails a hang. On each, the check's re-encode
verdict (which skips the rebuild where decode read every form canonically) must be the
whole rebuild's.
"""

import random
import zlib

import pytest
from rtds_vectors import params, read_vector, rtds_files, rtds_keystore

from gbcs import decode, encode, render, verify
from gbcs.check import check_message_bytes
from gbcs.errors import GbcsError
from gbcs.security import UNVERIFIABLE, VERIFIED

DEVICE_TO_DEVICE = {"PCS02_NA_SUCCESS_COMMAND_GBCS.HEX", "PCS02_NA_SUCCESS_RESPONSE_GBCS.HEX"}
VERIFIABLE = [
    p for p in rtds_files() if "_PRECOMMAND_" not in p.name and p.name not in DEVICE_TO_DEVICE
]
TAMPERINGS = 20_000
EACH = -(-TAMPERINGS // len(VERIFIABLE))  # at least TAMPERINGS in all


def seeded(name: str, salt: str) -> random.Random:
    return random.Random(zlib.crc32(f"{salt}:{name}".encode()))


def tamper(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One single-bit flip, inserted byte or deleted byte, at a random place."""
    edited = bytearray(data)
    what = rng.randrange(3)
    if what == 0:
        bit = rng.randrange(len(data) * 8)
        edited[bit // 8] ^= 1 << (bit % 8)
        return f"flip bit {bit % 8} of byte {bit // 8}", bytes(edited)
    if what == 1:
        at, value = rng.randrange(len(data) + 1), rng.randrange(256)
        edited.insert(at, value)
        return f"insert {value:02X} at byte {at}", bytes(edited)
    at = rng.randrange(len(data))
    del edited[at]
    return f"delete byte {at}", bytes(edited)


def test_the_sweeps_are_as_large_as_promised():
    assert len(VERIFIABLE) == 942
    assert EACH * len(VERIFIABLE) >= TAMPERINGS
    assert len(MUTATED) * PER_MESSAGE >= 100_000


@pytest.mark.parametrize("path", params(VERIFIABLE))
def test_no_tampering_passes_strict_check(path):
    data = read_vector(path)
    keystore = rtds_keystore()
    original = check_message_bytes(path.name, data, keystore)
    assert original.verdicts == [] and original.allowed == []
    statuses = {c.status for c in original.security.checks}
    assert VERIFIED in statuses and UNVERIFIABLE not in statuses  # fully verifiable
    rng = seeded(path.name, "tamper")
    for _ in range(EACH):
        how, edited = tamper(data, rng)
        if edited == data:  # deleting one of a run of equal bytes and inserting it back
            continue
        result = check_message_bytes(path.name, edited, keystore)
        assert result.verdicts, f"{how} passed strict check"


# --- the mutation sweep ----------------------------------------------------------------------
def one_per_folder() -> list:
    seen, chosen = set(), []
    for path in rtds_files():
        if path.parent.name not in seen:
            seen.add(path.parent.name)
            chosen.append(path)
    return chosen


MUTATED = one_per_folder()
PER_MESSAGE = -(-100_000 // len(MUTATED))


def mutate(data: bytes, rng: random.Random, donor: bytes) -> bytes:
    """One to three edits: flips, set bytes, inserted or deleted runs, truncation,
    extension, or a splice from another message (lengths that point elsewhere)."""
    edited = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not edited:
            edited.append(rng.randrange(256))
        at = rng.randrange(len(edited))
        what = rng.randrange(7)
        if what == 0:
            edited[at] ^= 1 << rng.randrange(8)
        elif what == 1:
            edited[at] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0xFF, rng.randrange(256)))
        elif what == 2:
            edited[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif what == 3:
            del edited[at : at + rng.randint(1, 8)]
        elif what == 4:
            del edited[at:]
        elif what == 5:
            edited.extend(bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))))
        else:
            start = rng.randrange(len(donor))
            edited[at : at + rng.randint(0, 16)] = donor[start : start + rng.randint(1, 32)]
    return bytes(edited)


def through_everything(name: str, data: bytes, keystore) -> None:
    """decode, encode, verify, render and check: each works or raises a GbcsError."""
    try:
        message = decode(data)
    except GbcsError as exc:
        assert exc.layer
        assert exc.offset is None or 0 <= exc.offset <= len(data)
        message = None
    rebuilt = None
    if message is not None:
        try:
            rebuilt = encode(message)
        except GbcsError as exc:
            assert exc.layer
        try:
            report = verify(message, keystore)
        except GbcsError as exc:
            assert exc.layer
            report = None
        try:
            render.message_json(message, report)
            render.message_text(message, report)
        except GbcsError as exc:
            assert exc.layer
    result = check_message_bytes(name, data, keystore)  # never raises: it judges
    assert result.verdicts or result.decoded
    # the check skips the rebuild where decode read every form canonically: its verdict
    # must be the whole rebuild's
    assert result.reencoded == (rebuilt == data), "re-encode verdict differs from a rebuild"


@pytest.mark.slow
@pytest.mark.parametrize("path", params(MUTATED))
def test_mutations_give_only_typed_errors(path):
    data = read_vector(path)
    keystore = rtds_keystore()
    donors = [read_vector(p) for p in MUTATED[:: max(1, len(MUTATED) // 8)]]
    rng = seeded(path.name, "mutate")
    for _ in range(PER_MESSAGE):
        through_everything(path.name, mutate(data, rng, rng.choice(donors)), keystore)
