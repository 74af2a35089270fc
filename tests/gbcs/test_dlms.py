"""The hand-written DLMS APDU reader gbcs.decode uses agrees with the construct Structs'
compiled parsers: the same tree (same keys in the same order, same value types), or the same
DecodeError (layer, offset and text), on every RTDS DLMS payload and on mutations of them."""

import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rtds_vectors import read_vector, rtds_files

from gbcs import decode, dlms
from gbcs.errors import DecodeError
from gbcs.primitives import noncanonical_reads


def shape(value):
    """A value with its exact types and key order made explicit (Container == ignores both)."""
    if isinstance(value, dict):
        return (type(value).__name__, [(key, shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return (type(value).__name__, [shape(item) for item in value])
    return (type(value).__name__, value)


def outcome(read, kind: str, content: bytes, base: int):
    try:
        return ("ok", shape(read(kind, content, base)))
    except DecodeError as exc:
        return ("error", exc.layer, exc.offset, exc.detail)


def assert_readers_agree(kind: str, content: bytes, base: int = 0) -> None:
    fast = outcome(dlms.decode, kind, content, base)
    assert fast == outcome(dlms.decode_compiled, kind, content, base)


@cache
def payloads() -> list[tuple[str, str, bytes, int]]:
    """(file name, kind, content, content offset) of every RTDS DLMS payload."""
    found = []
    for path in rtds_files():
        message = decode(read_vector(path))
        if message.payload_kind in dlms._APDUS:
            start = message.content_offset - message.apdu_offset
            signature = 0 if message.signature is None else 1 + len(message.signature)
            content = message.apdu[start : len(message.apdu) - signature]
            found.append((path.name, message.payload_kind, content, message.content_offset))
    return found


def mutations(data: bytes, rng: random.Random, count: int):
    for _ in range(count):
        position = rng.randrange(len(data))
        kind = rng.randrange(5)
        if kind == 0:
            yield data[:position]
        elif kind == 1:
            flipped = data[position] ^ 1 << rng.randrange(8)
            yield data[:position] + bytes([flipped]) + data[position + 1 :]
        elif kind == 2:
            value = rng.choice((0, 1, 2, 4, 5, 0x09, 0x13, 0x7F, 0x80, 0x82, 0xFF))
            yield data[:position] + bytes([value]) + data[position + 1 :]
        elif kind == 3:
            yield data[:position] + bytes([rng.randrange(256)]) + data[position:]
        else:
            yield data[:position] + data[position + 1 + rng.randrange(3) :]


def test_every_kind_is_read_by_hand():
    assert set(dlms._READERS) == set(dlms._APDUS)
    assert {kind for _, kind, _, _ in payloads()} == set(dlms._APDUS)


@pytest.mark.parametrize("index", range(0, 700, 7))
def test_readers_agree_on_rtds_payloads_and_their_mutations(index):
    for name, kind, content, base in payloads()[index : index + 7]:
        assert_readers_agree(kind, content, base)
        rng = random.Random(name)
        for mutated in mutations(content, rng, 40):
            assert_readers_agree(kind, mutated, base)


def test_readers_agree_on_every_truncation_of_a_request_with_selection():
    with_selection = [
        (kind, content)
        for _, kind, content, _ in payloads()
        if kind == "dlms-access-request"
        and any(s.selection is not None for s in dlms.decode(kind, content, 0).specifications)
    ]
    assert with_selection
    kind, content = with_selection[0]
    for end in range(len(content) + 1):
        assert_readers_agree(kind, content[:end], 3)


@settings(max_examples=300)
@given(
    kind=st.sampled_from(sorted(dlms._APDUS)),
    head=st.sampled_from((b"\xd9", b"\xda", b"\x0f")),
    body=st.binary(max_size=60),
)
def test_readers_agree_on_random_bytes(kind, head, body):
    assert_readers_agree(kind, head + body, 11)


# --- the hand writers dlms.encode uses agree with the Structs' build --------------------------
def struct_built(kind: str, value):
    try:
        return dlms._APDUS[kind].build(value)
    except Exception as exc:  # construct's errors and the plain ones its fields raise
        return type(exc).__name__


def hand_written(kind: str, value):
    out: list[bytes] = []
    try:
        done = dlms._WRITERS[kind](out, value)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        return ("declined", type(exc).__name__)
    except Exception as exc:  # struct.error and the like: also declined by dlms.encode
        return ("declined", type(exc).__name__)
    return b"".join(out) if done else ("declined", None)


def assert_writer_agrees(kind: str, value) -> bytes | None:
    """The writer writes exactly what the Struct builds, or declines; returns its bytes."""
    written = hand_written(kind, value)
    if isinstance(written, bytes):
        assert written == struct_built(kind, value)
        assert dlms.encode(kind, value) == written
        return written
    return None


@pytest.mark.parametrize("index", range(0, 700, 7))
def test_writers_write_what_the_structs_build_on_rtds_and_mutations(index):
    found = payloads()
    name, kind, content, base = found[index % len(found)]
    value = dlms.decode(kind, content, base)
    assert assert_writer_agrees(kind, value) == content, name  # decode's shapes: written
    rng = random.Random(name)
    for mutated in mutations(content, rng, 40):
        try:
            value = dlms.decode(kind, mutated, base)
        except DecodeError:
            continue
        assert_writer_agrees(kind, value)


def test_every_rtds_dlms_payload_is_written_by_hand():
    for name, kind, content, base in payloads():
        value = dlms.decode(kind, content, base)
        assert hand_written(kind, value) == content, name


def test_writers_decline_what_the_structs_read_otherwise():
    """Shapes decode never gives: a specification kind by number (the selection's Switch
    keys on the name), a missing selection key, an echoed list left out, values out of
    range. The writer declines each; dlms.encode then builds (or refuses) with the Struct."""
    request = next(
        dlms.decode(k, c, b)
        for _, k, c, b in payloads()
        if k == "dlms-access-request"
        and any(s["kind"] == "get_with_selection" for s in dlms.decode(k, c, b).specifications)
    )
    spec = next(s for s in request.specifications if s["kind"] == "get_with_selection")
    variants = []
    for change in ({"kind": 4}, {"class_id": 70000}, {"attribute_or_method": 256}):
        edited = dlms.Container(request)
        edited.specifications = [dlms.Container(spec, **change)]
        variants.append(edited)
    missing = dlms.Container(request)
    missing.specifications = [dlms.Container({k: v for k, v in spec.items() if k != "selection"})]
    variants.append(missing)
    variants.append(dlms.Container(request, long_invoke_id_and_priority=1 << 32))
    variants.append(dlms.Container(request, tag=b"\xda"))
    for variant in variants:
        assert not isinstance(hand_written("dlms-access-request", variant), bytes)
        assert_writer_agrees("dlms-access-request", variant)
    response = next(
        dlms.decode(k, c, b) for _, k, c, b in payloads() if k == "dlms-access-response"
    )
    gone = dlms.Container({k: v for k, v in response.items() if k != "echoed_specifications"})
    assert not isinstance(hand_written("dlms-access-response", gone), bytes)
    for result in ({"kind": "get", "result": 251}, {"kind": 1, "result": "success"}):
        edited = dlms.Container(response, results=[dlms.Container(result)])
        assert_writer_agrees("dlms-access-response", edited)


# the distinct access requests and responses of RTDS (422 contents), named by a file of each
CHECKED = sorted(
    {
        (kind, content): name
        for name, kind, content, _ in payloads()
        if kind in ("dlms-access-request", "dlms-access-response")
    }.items()
)
_SUBSTITUTES = (0x00, 0xFF, 0x81, 0x82, 0x01, 0x02, 0x09, 0x17, None)  # None: bit 7 flipped


def _checked(read, kind: str, content: bytes):
    """(verdict, non-canonical forms counted, the APDU without its items) of a reader."""
    before = noncanonical_reads()
    try:
        value = read(kind, content, 7)
    except DecodeError as exc:
        return (exc.layer, exc.offset, exc.detail), noncanonical_reads() - before, None
    head = {key: item for key, item in value.items() if key != "data"}
    return None, noncanonical_reads() - before, (shape(head), value["data"] is None)


@pytest.mark.parametrize("case", [c for c, _ in CHECKED], ids=[n for _, n in CHECKED])
def test_check_gives_decodes_verdict_and_count_on_every_edit(case):
    """dlms.check (a check's proof of an access request or response, its data items not
    built) fails exactly where and as decode does, counts the same non-canonical forms, and
    gives the same APDU around the items: on the payload, cut at every length, and with each
    byte replaced (by turns 00, FF, 81, 82, 01, 02, 09, 17 or itself with bit 7 flipped:
    length forms, counts and item tags). Ten replacements and a deletion at every byte of
    every payload, and every cut (699,312 edits), agreed when this was written; this keeps
    the cuts and one replacement a byte."""
    kind, content = case
    edits = [content, *(content[:cut] for cut in range(len(content)))]
    for at, byte in enumerate(content):
        value = _SUBSTITUTES[at % len(_SUBSTITUTES)]
        replaced = byte ^ 0x80 if value is None else value
        edits.append(content[:at] + bytes((replaced,)) + content[at + 1 :])
    for edit in edits:
        verdict, count, head = _checked(dlms.decode, kind, edit)
        if head is not None:
            head = (head[0], True)  # check leaves `data` None; decode reads it
        assert _checked(dlms.check, kind, edit) == (verdict, count, head), edit.hex()
    assert _checked(dlms.check, kind, content)[0] is None
