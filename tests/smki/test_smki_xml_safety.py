"""The hardened XML helper refuses DTDs, entities (internal and external), oversize and
malformed input, and streams large documents with flat memory."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from emulator.xml_safety import XmlRejected, iter_elements, parse_document

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<lolz>&lol3;</lolz>"
)
XXE_FILE = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
XXE_NETWORK = b'<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><a>&x;</a>'
EXTERNAL_DTD = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>'
PARAMETER_ENTITY = b'<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><a/>'


def test_plain_document_parses():
    root = parse_document(b'<?xml version="1.0"?><a x="1"><b>text</b><!-- c --></a>')
    assert root.tag == "a" and root.findtext("b") == "text" and root.get("x") == "1"


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, XXE_FILE, XXE_NETWORK, EXTERNAL_DTD, PARAMETER_ENTITY]
)
def test_dtds_and_entities_are_refused(data):
    with pytest.raises(XmlRejected, match="DOCTYPE|DTD|not well-formed"):
        parse_document(data)
    with pytest.raises(XmlRejected):
        list(iter_elements(io.BytesIO(data), ("a", "lolz")))


@pytest.mark.parametrize("data", [b"", b"   ", b"<a>", b"<a></b>", b"not xml"])
def test_malformed_is_refused(data):
    with pytest.raises(XmlRejected):
        parse_document(data)


def test_size_is_bounded_and_type_checked():
    with pytest.raises(XmlRejected, match="over the limit"):
        parse_document(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    with pytest.raises(XmlRejected, match="bytes"):
        parse_document("<a/>")


def _stream(count: int):
    yield b'<root kind="test">'
    for number in range(count):
        yield b"<item><n>%d</n><pad>%s</pad></item>" % (number, b"p" * 200)
    yield b"<end>done</end></root>"


class _Chunks(io.RawIOBase):
    def __init__(self, parts):
        self._parts, self._rest = iter(parts), b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._rest:
            try:
                self._rest = next(self._parts)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size], self._rest = self._rest[:size], self._rest[size:]
        return size


def _peak_while_streaming(count: int) -> tuple[int, int]:
    tracemalloc.start()
    seen = 0
    for event, element in iter_elements(_Chunks(_stream(count)), ("item", "end")):
        if event == "end" and element.tag == "item":
            assert int(element.findtext("n")) == seen
            seen += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seen, peak


def test_streaming_sees_every_element_with_flat_memory():
    small_count, small_peak = _peak_while_streaming(2_000)
    large_count, large_peak = _peak_while_streaming(40_000)
    assert (small_count, large_count) == (2_000, 40_000)
    # 20x the elements (about 9 MB of XML) must not need anything like 20x the memory
    assert large_peak < small_peak * 3 + 256 * 1024


def test_stream_yields_root_first_with_its_attributes():
    events = iter_elements(io.BytesIO(b'<r a="1"><x>1</x><y/></r>'), ("x",))
    event, root = next(events)
    assert (event, root.tag, root.get("a")) == ("start", "r", "1")
    assert [(e, el.tag) for e, el in events] == [("end", "x")]
