"""Hardened XML parsing for everything that arrives from outside (web requests, extract files).

XML from a peer can attack the parser: entity expansion ("billion laughs"), external entities
that read local files or reach the network (XXE), DTDs that pull in more of both, or sheer
size. Every parser built here refuses all of them: no DTD is loaded or allowed, entities are
never resolved, the network is never touched, and the input is bounded in size (documents)
or read incrementally with lxml's own limits on (streams). One typed error, `XmlRejected`,
says why a document was refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from lxml import etree

from emulator.errors import EmulatorError

DEFAULT_MAX_BYTES = 1 << 20  # requests to a web service are small; 1 MiB is generous


class XmlRejected(EmulatorError, ValueError):
    """The XML was refused: malformed, too big, or carrying a DTD/entity declaration."""


def _parser_options() -> dict:
    return dict(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _refuse_dtd(tree: etree._ElementTree, what: str) -> None:
    docinfo = tree.docinfo
    doctype = docinfo.doctype  # type: ignore[attr-defined]  # lxml-stubs lack it
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected(f"{what}: a DOCTYPE/DTD is not allowed")


def parse_document(data: bytes, *, what: str = "document", max_bytes: int = DEFAULT_MAX_BYTES):
    """The root element of a complete XML document held in memory (bounded by max_bytes)."""
    if not isinstance(data, bytes | bytearray):
        raise XmlRejected(f"{what}: XML must be given as bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise XmlRejected(f"{what}: {len(data)} bytes is over the limit of {max_bytes}")
    if not data.strip():
        raise XmlRejected(f"{what}: empty")
    parser = etree.XMLParser(**_parser_options())
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"{what}: not well-formed XML: {exc}") from None
    if root is None:
        raise XmlRejected(f"{what}: no root element")
    _refuse_dtd(root.getroottree(), what)
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise XmlRejected(f"{what}: entity references are not allowed")
    return root


class Readable(Protocol):
    """What `iter_elements` reads from: an open binary file, or a stream with its own
    `read(size)` (a gzip extract read as it is checked)."""

    def read(self, size: int = -1, /) -> bytes: ...


def iter_elements(source: Readable, tags: tuple[str, ...], *, what: str = "stream") -> Iterator:
    """(event, element) pairs over a (large) stream: ("start", root) once, then ("end", e)
    for each complete element whose tag is in `tags`.

    Only the wanted elements raise events (lxml filters in C), and each is cleared once the
    caller asks for the next, its earlier siblings dropped, so memory stays flat however
    long the stream is. The root comes with its attributes but, being the parent of the
    first wanted element, it is reported just before that element.
    """
    events = etree.iterparse(source, events=("end",), tag=tags, **_iterparse_options())
    root = None
    try:
        for _, element in events:
            if root is None:
                root = element.getparent() if element.getparent() is not None else element
                _refuse_dtd(root.getroottree(), what)
                yield "start", root
            yield "end", element
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
        if root is None and events.root is not None:
            _refuse_dtd(events.root.getroottree(), what)
            yield "start", events.root
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"{what}: not well-formed XML: {exc}") from None


def _iterparse_options() -> dict:
    options = _parser_options()
    options.pop("dtd_validation")
    return options
