"""xDLMS payloads (primer 8.1-8.3): access request, access response, data notification, and
the A-XDR data they carry.

The APDUs are construct Structs. A-XDR data is recursive and makes up most of the bytes of
a DLMS payload, so it is one Construct class driven by a declarative tag table (below): the
table says, per tag, how the value is laid out, and one small recursive reader/writer
follows it. That keeps decoding fast (construct's generic recursion costs ~10x more) while
the layout stays in one table.

A decoded data item is a Container(type=<name>, value=<python value>); arrays and structures
hold lists of items; a compact array keeps its type description and untagged values.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from construct import (
    Byte,
    Const,
    Container,
    Enum,
    EnumInteger,
    If,
    Int16ub,
    Int32ub,
    ListContainer,
    Pass,
    PrefixedArray,
    StreamError,
    Struct,
    Switch,
    stream_write,
    this,
)

from .errors import DecodeError
from .primitives import (
    COSEM_FIELDS,
    COSEM_STRUCT,
    Length,
    OptionalDateTime,
    build_layer,
    encode_length,
    long_form_value,
    note_noncanonical,
    parse_layer,
    read_length_form,
    read_optional_datetime,
)
from .strict import Construct, compile_strict

if TYPE_CHECKING:
    from construct import CodeGen

# --- A-XDR data: the tag table -------------------------------------------------------------
# kind: "none" (no value), "fixed" (struct format), "bytes" (length + octets), "text"
# (length + characters), "bits" (bit count + octets), "array" / "structure" (count + items),
# "compact" (type description + length + untagged values).
AXDR_TYPES: dict[int, tuple[str, str, str | int | None]] = {
    0x00: ("null-data", "none", None),
    0x01: ("array", "array", None),
    0x02: ("structure", "structure", None),
    0x03: ("boolean", "fixed", ">B"),
    0x04: ("bit-string", "bits", None),
    0x05: ("double-long", "fixed", ">i"),
    0x06: ("double-long-unsigned", "fixed", ">I"),
    0x09: ("octet-string", "bytes", None),
    0x0A: ("visible-string", "text", "ascii"),
    0x0C: ("utf8-string", "text", "utf-8"),
    0x0D: ("bcd", "fixed", ">b"),
    0x0F: ("integer", "fixed", ">b"),
    0x10: ("long", "fixed", ">h"),
    0x11: ("unsigned", "fixed", ">B"),
    0x12: ("long-unsigned", "fixed", ">H"),
    0x13: ("compact-array", "compact", None),
    0x14: ("long64", "fixed", ">q"),
    0x15: ("long64-unsigned", "fixed", ">Q"),
    0x16: ("enum", "fixed", ">B"),
    0x17: ("float32", "fixed", ">f"),
    0x18: ("float64", "fixed", ">d"),
    0x19: ("date-time", "octets", 12),
    0x1A: ("date", "octets", 5),
    0x1B: ("time", "octets", 4),
}
TAG_BY_NAME = {name: tag for tag, (name, _, _) in AXDR_TYPES.items()}
_NAMES = {tag: name for tag, (name, _, _) in AXDR_TYPES.items()}
_FIXED = {
    tag: struct.Struct(cast(str, fmt))  # a fixed kind's third field is its struct format
    for tag, (_, kind, fmt) in AXDR_TYPES.items()
    if kind == "fixed"
}
# the hot path's dispatch: tag -> one of these markers (compared by identity)
_NULL, _FIXED_KIND, _LIST, _BYTES = "none", "fixed", "list", "bytes"
_KIND_OF = {
    tag: {"none": _NULL, "fixed": _FIXED_KIND, "array": _LIST, "structure": _LIST}.get(kind)
    for tag, (_, kind, _) in AXDR_TYPES.items()
}
_KIND_OF[0x09] = _BYTES
_BIT_STRING = 0x04
_BIT_STRING_NAME = AXDR_TYPES[_BIT_STRING][0]
# a float32 NaN is read into a Python float, which packs a signalling NaN back quietened
_FLOAT32 = 0x17
# _read_item's table, indexed by tag: (item template, kind, unpack_from, size), None for the
# kinds _read_value reads (and unknown tags). An item is made as Container(template) and then
# given its value, which is cheaper than Container(type=..., value=...). The unpack_from is
# typed Any: it is None unless the kind is fixed, the only kind that calls it.
_ItemSpec = tuple[dict[str, Any], str, Any, int]
_ITEM_SPECS: list[_ItemSpec | None] = [None] * 256
for _tag, _kind in _KIND_OF.items():
    if _kind is not None and _tag != _FLOAT32:  # float32: _read_value, which counts NaNs
        _fixed = _FIXED.get(_tag)
        _ITEM_SPECS[_tag] = (
            {"type": _NAMES[_tag], "value": None},
            _kind,
            _fixed.unpack_from if _fixed else None,
            _fixed.size if _fixed else 0,
        )


def _fail(message: str, pos: int) -> StreamError:
    """A StreamError whose position the caller turns into the message's byte offset."""
    error = StreamError(message)
    error.position = pos
    return error


def _length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise _fail("A-XDR: stream ended inside a length", pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    end = pos + 1 + count
    if count == 0 or count > 4 or end > len(data):
        raise _fail(f"A-XDR: invalid length form 0x{first:02X}", pos)
    return long_form_value(data[pos + 1 : end]), end


def _take(data: bytes, pos: int, n: int, what: str) -> tuple[bytes, int]:
    end = pos + n
    if end > len(data):
        raise _fail(f"A-XDR: {what} needs {n} byte(s), {len(data) - pos} left", pos)
    return data[pos:end], end


def _read_value(data: bytes, pos: int, tag: int) -> tuple[Any, int]:
    """(value, next position) of one item whose tag byte is just before `pos`."""
    # the third field's type follows the kind (text encoding, octet count): read as Any
    entry: tuple[str, str, Any] | None = AXDR_TYPES.get(tag)
    if entry is None:
        raise _fail(f"A-XDR: unknown data tag 0x{tag:02X}", pos - 1)
    kind = entry[1]
    if kind == "array" or kind == "structure":
        count, pos = _item_count(data, pos)
        items = ListContainer()
        append = items.append
        for _ in range(count):
            item, pos = _read_item(data, pos)
            append(item)
        return items, pos
    if kind == "bytes":
        n, pos = _length(data, pos)
        return _take(data, pos, n, entry[0])
    if kind == "text":
        n, pos = _length(data, pos)
        raw, end = _take(data, pos, n, entry[0])
        try:
            return raw.decode(entry[2]), end
        except UnicodeDecodeError as exc:
            raise _fail(f"A-XDR: {entry[0]} is not {entry[2]}: {exc.reason}", pos) from None
    if kind == "bits":
        bits, pos = _length(data, pos)
        octets, pos = _take(data, pos, (bits + 7) // 8, entry[0])
        return Container(bits=bits, octets=octets), pos
    if kind == "octets":
        return _take(data, pos, entry[2], entry[0])
    if kind == "fixed":
        fmt = _FIXED[tag]
        end = pos + fmt.size
        if end > len(data):
            raise _fail(f"A-XDR: {entry[0]} needs {fmt.size} bytes", pos)
        number = fmt.unpack_from(data, pos)[0]
        if tag == _FLOAT32 and number != number:  # NaN: its bits may not pack back
            note_noncanonical()
        return number, end
    if kind == "compact":
        start = pos
        description, pos = _read_description(data, pos)
        if _least_size(description) == 0:
            # values of no size would repeat forever in the contents: not a valid layout
            raise _fail("A-XDR: compact-array description describes values of no size", start)
        n, pos = _length(data, pos)
        contents, end = _take(data, pos, n, "compact-array contents")
        entries = ListContainer()
        inner = 0
        try:
            while inner < n:
                value, inner = _read_described(contents, inner, description)
                entries.append(value)
        except StreamError as exc:
            exc.position = pos + getattr(exc, "position", inner)
            raise
        return Container(description=description, entries=entries), end
    return None, pos  # null-data


def _read_item(data: bytes, pos: int) -> tuple[Container, int]:
    """(item, next position). The hot path of DLMS decoding: the common kinds (null, fixed
    size, array / structure, octet string) are handled here without further calls, and a
    list's children by _read_children; anything else, and anything cut short, takes the
    general path and its error."""
    size = len(data)
    if pos >= size:
        raise _fail("A-XDR: stream ended where a data item should start", pos)
    tag = data[pos]
    pos += 1
    spec = _ITEM_SPECS[tag]
    if spec is None:  # compact arrays, strings, bit strings, dates, unknown tags
        value, end = _read_value(data, pos, tag)
        return Container(type=_NAMES[tag], value=value), end
    template, kind, unpack, width = spec
    item = Container(template)
    if kind is _FIXED_KIND:
        end = pos + width
        if end > size:
            raise _fail(f"A-XDR: {template['type']} needs {width} bytes", pos)
        item["value"] = unpack(data, pos)[0]
        return item, end
    if kind is _NULL:
        return item, pos
    if pos >= size:
        raise _fail("A-XDR: stream ended inside a length", pos)
    count = data[pos]
    if count < 0x80:
        pos += 1
    else:
        count, pos = _length(data, pos)
    if kind is _BYTES:
        end = pos + count
        if end > size:
            raise _fail(f"A-XDR: octet-string needs {count} byte(s), {size - pos} left", pos)
        item["value"] = data[pos:end]
        return item, end
    if count > size - pos:
        raise _fail(f"A-XDR: {count} items cannot fit in the bytes left", pos)
    items = ListContainer()
    pos = _read_children(data, pos, count, size, items.append)
    item["value"] = items
    return item, pos


def _read_children(
    data: bytes, pos: int, count: int, size: int, append: Callable[[Container], None]
) -> int:
    """A list's `count` items from pos, each passed to `append`: the next position.
    Fixed-size, null, short octet-string and short bit-string items (most of a list's
    children) are read here, and so are structures / arrays with a short count, by one call
    here for all of their items (structures nested in arrays are most of a DLMS payload);
    anything else, and anything cut short, takes _read_item and fails where it would."""
    for _ in range(count):
        if pos + 1 < size:
            tag = data[pos]
            child = _ITEM_SPECS[tag]
            if child is not None:
                child_kind = child[1]
                if child_kind is _FIXED_KIND:
                    end = pos + 1 + child[3]
                    if end <= size:
                        value = Container(child[0])
                        value["value"] = child[2](data, pos + 1)[0]
                        append(value)
                        pos = end
                        continue
                elif child_kind is _BYTES:
                    length = data[pos + 1]
                    end = pos + 2 + length
                    if length < 0x80 and end <= size:
                        value = Container(child[0])
                        value["value"] = data[pos + 2 : end]
                        append(value)
                        pos = end
                        continue
                elif child_kind is _NULL:
                    append(Container(child[0]))
                    pos += 1
                    continue
                else:  # array / structure: the same check on its count as _read_item's
                    inner_count = data[pos + 1]
                    if inner_count < 0x80 and inner_count <= size - pos - 2:
                        value = Container(child[0])
                        inner = ListContainer()
                        pos = _read_children(data, pos + 2, inner_count, size, inner.append)
                        value["value"] = inner
                        append(value)
                        continue
            elif tag == _BIT_STRING:
                bits = data[pos + 1]
                end = pos + 2 + (bits + 7) // 8
                if bits < 0x80 and end <= size:
                    append(
                        Container(
                            type=_BIT_STRING_NAME,
                            value=Container(bits=bits, octets=data[pos + 2 : end]),
                        )
                    )
                    pos = end
                    continue
        value, pos = _read_item(data, pos)
        append(value)
    return pos


def _skip_children(data: bytes, pos: int, count: int, size: int) -> int:
    """Where a list's `count` items from pos end, each read as _read_children reads it: the
    same fast path, checking the same things and building nothing; anything else goes to
    _read_item, which counts non-canonical forms and fails as it always has (and builds
    that item, which only an unusual one pays). A check's proof of a payload's items."""
    for _ in range(count):
        if pos + 1 < size:
            tag = data[pos]
            child = _ITEM_SPECS[tag]
            if child is not None:
                child_kind = child[1]
                if child_kind is _FIXED_KIND:
                    end = pos + 1 + child[3]
                    if end <= size:
                        pos = end
                        continue
                elif child_kind is _BYTES:
                    length = data[pos + 1]
                    end = pos + 2 + length
                    if length < 0x80 and end <= size:
                        pos = end
                        continue
                elif child_kind is _NULL:
                    pos += 1
                    continue
                else:  # array / structure, as _read_children takes it
                    inner_count = data[pos + 1]
                    if inner_count < 0x80 and inner_count <= size - pos - 2:
                        pos = _skip_children(data, pos + 2, inner_count, size)
                        continue
            elif tag == _BIT_STRING:
                bits = data[pos + 1]
                end = pos + 2 + (bits + 7) // 8
                if bits < 0x80 and end <= size:
                    pos = end
                    continue
        pos = _read_item(data, pos)[1]
    return pos


def _read_description(data: bytes, pos: int) -> tuple[Container, int]:
    """A compact-array type description: a bare tag, or array / structure of descriptions."""
    if pos >= len(data):
        raise _fail("A-XDR: stream ended inside a type description", pos)
    tag = data[pos]
    entry = AXDR_TYPES.get(tag)
    if entry is None:
        raise _fail(f"A-XDR: unknown type description tag 0x{tag:02X}", pos)
    pos += 1
    if tag == 0x01:
        raw, pos = _take(data, pos, 2, "array description")
        element, pos = _read_description(data, pos)
        return Container(type="array", count=int.from_bytes(raw, "big"), element=element), pos
    if tag == 0x02:
        count, pos = _length(data, pos)
        if count > len(data) - pos:
            raise _fail(f"A-XDR: {count} descriptions cannot fit in the bytes left", pos)
        elements = ListContainer()
        for _ in range(count):
            element, pos = _read_description(data, pos)
            elements.append(element)
        return Container(type="structure", elements=elements), pos
    if entry[1] == "compact":
        raise _fail("A-XDR: a compact array cannot nest in a type description", pos - 1)
    if entry[1] == "none":
        raise _fail("A-XDR: null-data has no place in a compact-array description", pos - 1)
    return Container(type=entry[0]), pos


def _least_size(description: Container) -> int:
    """The fewest bytes one value of this description can take (a bound that stops a
    hostile description from making work out of no bytes)."""
    name = description["type"]
    if name == "array":
        count: int = description["count"]
        return count * _least_size(description["element"])
    if name == "structure":
        return sum(_least_size(e) for e in description["elements"])
    tag = TAG_BY_NAME[name]
    entry: tuple[str, str, Any] = AXDR_TYPES[tag]  # octets: the third field is the size
    kind = entry[1]
    if kind == "fixed":
        return _FIXED[tag].size
    if kind == "octets":
        size: int = entry[2]
        return size
    if kind == "none":
        return 0
    return 1  # a length byte at least


def _read_described(data: bytes, pos: int, description: Container) -> tuple[Any, int]:
    """(value, next position) of one untagged value laid out as `description` says."""
    name = description["type"]
    if name == "array" or name == "structure":
        parts = (
            description["elements"]
            if name == "structure"
            else [description["element"]] * description["count"]
        )
        values = ListContainer()
        for part in parts:
            value, pos = _read_described(data, pos, part)
            values.append(value)
        return values, pos
    return _read_value(data, pos, TAG_BY_NAME[name])


def _write_value(out: list[bytes], tag: int, value: Any) -> None:
    entry: tuple[str, str, Any] | None = AXDR_TYPES.get(tag)  # see _read_value
    if entry is None:
        raise ValueError(f"unknown A-XDR tag 0x{tag:02X}")
    kind = entry[1]
    if kind == "fixed":
        out.append(_FIXED[tag].pack(value))
    elif kind in ("array", "structure"):
        out.append(encode_length(len(value)))
        for item in value:
            _write_item(out, item)
    elif kind == "bytes":
        out.append(encode_length(len(value)))
        out.append(bytes(value))
    elif kind == "text":
        raw = value.encode(entry[2])
        out.append(encode_length(len(raw)))
        out.append(raw)
    elif kind == "bits":
        if len(value.octets) != (value.bits + 7) // 8:
            raise ValueError("bit-string: octets do not match the bit count")
        out.append(encode_length(value.bits))
        out.append(bytes(value.octets))
    elif kind == "octets":
        if len(value) != entry[2]:
            raise ValueError(f"{entry[0]} must be {entry[2]} bytes")
        out.append(bytes(value))
    elif kind == "compact":
        _write_description(out, value.description)
        inner: list[bytes] = []
        for item in value.entries:
            _write_described(inner, value.description, item)
        contents = b"".join(inner)
        out.append(encode_length(len(contents)))
        out.append(contents)


def _write_item(out: list[bytes], item: Container) -> None:
    plan = _ITEM_WRITES.get(item["type"])
    if plan is None:
        raise ValueError(f"unknown A-XDR type {item['type']!r}")
    head, tag, kind, packer = plan
    out.append(head)
    value = item.get("value")
    # the common kinds inline (the same bytes as _write_value), the rest through it
    if packer is not None:
        out.append(packer(value))
    elif kind == "structure" or kind == "array":
        out.append(encode_length(len(value)))
        for child in value:
            _write_item(out, child)
    elif kind == "bytes":
        out += (encode_length(len(value)), bytes(value))
    elif kind != "none":
        _write_value(out, tag, value)


# type name -> (its tag byte, the tag, its kind, a fixed kind's packer): one lookup an item
_ITEM_WRITES: dict[str, tuple[bytes, int, str, Callable[..., bytes] | None]] = {
    name: (bytes((tag,)), tag, kind, _FIXED[tag].pack if kind == "fixed" else None)
    for tag, (name, kind, _) in AXDR_TYPES.items()
}


def _write_description(out: list[bytes], description: Container) -> None:
    name = description["type"]
    if name == "array":
        out.append(b"\x01" + description["count"].to_bytes(2, "big"))
        _write_description(out, description["element"])
    elif name == "structure":
        out.append(b"\x02" + encode_length(len(description["elements"])))
        for element in description["elements"]:
            _write_description(out, element)
    else:
        out.append(bytes((TAG_BY_NAME[name],)))


def _write_described(out: list[bytes], description: Container, value: Any) -> None:
    name = description["type"]
    if name == "array":
        if len(value) != description["count"]:
            raise ValueError("compact array: element count differs from its description")
        for element in value:
            _write_described(out, description["element"], element)
    elif name == "structure":
        if len(value) != len(description["elements"]):
            raise ValueError("compact array: structure size differs from its description")
        for element_description, element in zip(description["elements"], value, strict=True):
            _write_described(out, element_description, element)
    else:
        _write_value(out, TAG_BY_NAME[name], value)


def _on_stream(stream: BytesIO, read: Callable[[bytes, int], tuple[Any, int]]) -> Any:
    """Run a (data, position) -> (value, next position) reader at a BytesIO's position,
    leaving the stream after the value, or at the failing byte when it raises."""
    start = stream.tell()
    try:
        value, end = read(stream.getvalue(), start)
    except StreamError as exc:
        stream.seek(getattr(exc, "position", start))
        raise
    stream.seek(end)
    return value


def _item_count(data: bytes, pos: int) -> tuple[int, int]:
    """A list's item count at pos and where its items start; a count that more bytes than
    are left could not hold fails here, before any item is read."""
    count, pos = _length(data, pos)
    if count > len(data) - pos:
        raise _fail(f"A-XDR: {count} items cannot fit in the bytes left", pos)
    return count, pos


def _read_counted_items(data: bytes, pos: int) -> tuple[ListContainer, int]:
    count, pos = _item_count(data, pos)
    items = ListContainer()
    pos = _read_children(data, pos, count, len(data), items.append)
    return items, pos


def _skip_counted_items(data: bytes, pos: int) -> tuple[None, int]:
    """_read_counted_items proved, not built: (None, where the items end)."""
    count, pos = _item_count(data, pos)
    return None, _skip_children(data, pos, count, len(data))


def parse_axdr_data(stream: BytesIO) -> Container:
    """One A-XDR data item from a BytesIO (used by the compiled parsers)."""
    return _on_stream(stream, _read_item)


def parse_axdr_list(stream: BytesIO) -> ListContainer:
    """A length-prefixed sequence of A-XDR items, read in one pass over the buffer."""
    return _on_stream(stream, _read_counted_items)


class AxdrField(Construct):
    """An A-XDR field in a construct Struct, read and written by this module's functions:
    one item (`Data`) or a counted list of items (`DataList`)."""

    def __init__(
        self,
        parse: Callable[[BytesIO], Container],
        write: Callable[[list[bytes], Any], None],
    ):
        super().__init__()
        self.parse_function = parse
        self.write = write

    def _parse(self, stream: BytesIO, context: Container, path: str) -> Container:
        return self.parse_function(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        out: list[bytes] = []
        self.write(out, obj)
        raw = b"".join(out)
        stream_write(stream, raw, len(raw), path)
        return obj

    def _emitparse(self, code: CodeGen) -> str:
        name = self.parse_function.__name__
        code.append(f"from gbcs.dlms import {name}")
        return f"{name}(io)"


def _write_counted_items(out: list[bytes], items: list[Container]) -> None:
    out.append(encode_length(len(items)))
    for item in items:
        _write_item(out, item)


Data = AxdrField(parse_axdr_data, _write_item)
DataList = AxdrField(parse_axdr_list, _write_counted_items)


def decode_data(data: bytes, base: int = 0, layer: str = "a-xdr") -> Container:
    """Decode bytes that hold exactly one A-XDR data item (e.g. a decrypted fragment)."""
    return parse_layer(Data, data, layer, base)


def encode_data(item: Container) -> bytes:
    return build_layer(Data, item, "a-xdr")


class Obis(bytes):
    """A 6-byte COSEM instance id that prints as a-b:c.d.e.f (e.g. 0-0:94.44.119.2)."""

    def __str__(self) -> str:
        a, b, c, d, e, f = self
        return f"{a}-{b}:{c}.{d}.{e}.{f}"

    @classmethod
    def from_text(cls, text: str) -> Obis:
        ab, cdef = text.split(":")
        parts = [int(x) for x in ab.split("-")] + [int(x) for x in cdef.split(".")]
        return cls(bytes(parts))


def parse_obis(stream: BinaryIO) -> Obis:
    raw = stream.read(6)
    if len(raw) != 6:
        raise StreamError("OBIS code: stream ended")
    return Obis(raw)


class ObisField(Construct):
    def _parse(self, stream: BytesIO, context: Container, path: str) -> Obis:
        return parse_obis(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        raw = Obis.from_text(obj) if isinstance(obj, str) else bytes(obj)
        if len(raw) != 6:
            raise StreamError("OBIS code must be 6 bytes", path=path)
        stream_write(stream, raw, 6, path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return 6

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.dlms import parse_obis")
        return "parse_obis(io)"


# --- the xDLMS APDUs ---------------------------------------------------------------------
SpecificationKind = Enum(Byte, get=1, set=2, action=3, get_with_selection=4, set_with_selection=5)

# Data-access-result / action-result codes (primer 8.1)
AccessResult = Enum(
    Byte,
    success=0,
    hardware_fault=1,
    temporary_failure=2,
    read_write_denied=3,
    object_undefined=4,
    object_class_inconsistent=9,
    object_unavailable=11,
    type_unmatched=12,
    scope_of_access_violated=13,
    data_block_unavailable=14,
    long_get_aborted=15,
    no_long_get_in_progress=16,
    long_set_aborted=17,
    no_long_set_in_progress=18,
    data_block_number_invalid=19,
    other_reason=250,
)

_Selection = Struct("selector" / Byte, "parameters" / Data)
_SELECTION_KINDS = ("get_with_selection", "set_with_selection")
ACCESS_REQUEST_TAG, ACCESS_RESPONSE_TAG, DATA_NOTIFICATION_TAG = b"\xd9", b"\xda", b"\x0f"

# Cosem attribute / method descriptor, with an access selection for the -with-selection kinds
RequestSpecification = Struct(
    "kind" / SpecificationKind,
    "class_id" / Int16ub,
    "instance_id" / ObisField(),
    "attribute_or_method" / Byte,
    "selection"
    / Switch(
        this.kind,
        {kind: _Selection for kind in _SELECTION_KINDS},
        default=Pass,
    ),
)


AccessRequest = Struct(
    "tag" / Const(ACCESS_REQUEST_TAG),
    # GBCS: 0x20 (priority high) then the low 24 bits of the originator counter
    "long_invoke_id_and_priority" / Int32ub,
    "date_time" / OptionalDateTime(),
    "specifications" / PrefixedArray(Length, RequestSpecification),
    "data" / DataList,
)

AccessResponse = Struct(
    "tag" / Const(ACCESS_RESPONSE_TAG),
    "long_invoke_id_and_priority" / Int32ub,
    "date_time" / OptionalDateTime(),
    # the request specification list is optional: 00 = not echoed
    "echoed_specifications_present" / Byte,
    "echoed_specifications"
    / If(this.echoed_specifications_present != 0, PrefixedArray(Length, RequestSpecification)),
    "data" / DataList,
    "results" / PrefixedArray(Length, Struct("kind" / SpecificationKind, "result" / AccessResult)),
)

DataNotification = Struct(
    "tag" / Const(DATA_NOTIFICATION_TAG),
    "long_invoke_id_and_priority" / Int32ub,
    "date_time" / OptionalDateTime(),
    "notification" / Data,
)

_APDUS = {
    "dlms-access-request": AccessRequest,
    "dlms-access-response": AccessResponse,
    "dlms-notification": DataNotification,
}


@cache
def _compiled(kind: str) -> Any:
    """The Structs' compiled parser for an APDU kind, compiled on first use: decode() reads
    with the hand reader below, so `import gbcs` need not compile these."""
    return compile_strict(_APDUS[kind], f"dlms.{kind}")


# --- the hand reader gbcs.decode uses ----------------------------------------------------
# The Structs above are the definition: encode builds with them and _compiled() parses with
# them. Below, the same APDUs are read straight from the bytes, the way the A-XDR data is:
# construct's per-Struct context dicts, substreams and reads cost more than the data for a
# typical request (some 20k instructions per specification). The enum values and field names
# come from the Structs; tests/gbcs/test_dlms.py checks that both readers give the same
# tree, or the same error (text and offset), on every RTDS payload and on mutations.

_SPECIFICATION_KINDS = {
    v: SpecificationKind.parse(bytes((v,))) for v in SpecificationKind.decmapping
}
_ACCESS_RESULTS = {v: AccessResult.parse(bytes((v,))) for v in AccessResult.decmapping}
_SELECTION_CODES = frozenset(SpecificationKind.encmapping[kind] for kind in _SELECTION_KINDS)


def _unnamed(code: int) -> EnumInteger:
    """An enum byte no mapping names, kept as its number. The hand writers leave such a
    value to the Struct, whose bytes may differ: counted as non-canonical."""
    note_noncanonical()
    return EnumInteger(code)


def _fixed_end(data: bytes, pos: int, size: int) -> int:
    """Where a `size`-byte integer at pos ends; cut short, it fails where the data ends."""
    end = pos + size
    if end > len(data):
        raise _fail(f"unpack requires a buffer of {size} bytes", len(data))
    return end


def _read_specification(data: bytes, pos: int) -> tuple[Container, int]:
    """RequestSpecification: kind, class id, OBIS instance, attribute / method, selection."""
    code = data[pos] if pos < len(data) else None
    if pos + 10 <= len(data) and code not in _SELECTION_CODES:  # the usual 10 bytes
        specification = Container(
            kind=_SPECIFICATION_KINDS.get(code) or _unnamed(data[pos]),
            class_id=data[pos + 1] << 8 | data[pos + 2],
            instance_id=Obis(data[pos + 3 : pos + 9]),
            attribute_or_method=data[pos + 9],
            selection=None,
        )
        return specification, pos + 10
    # field by field, failing exactly where the Struct would
    pos = _fixed_end(data, pos, 1)
    code = data[pos - 1]
    pos = _fixed_end(data, pos, 2)
    class_id = data[pos - 2] << 8 | data[pos - 1]
    if pos + 6 > len(data):
        raise _fail("OBIS code: stream ended", len(data))
    instance_id = Obis(data[pos : pos + 6])
    pos = _fixed_end(data, pos + 6, 1)
    attribute_or_method = data[pos - 1]
    selection = None
    if code in _SELECTION_CODES:
        pos = _fixed_end(data, pos, 1)
        selector = data[pos - 1]
        parameters, pos = _read_item(data, pos)
        selection = Container(selector=selector, parameters=parameters)
    specification = Container(
        kind=_SPECIFICATION_KINDS.get(code) or _unnamed(code),
        class_id=class_id,
        instance_id=instance_id,
        attribute_or_method=attribute_or_method,
        selection=selection,
    )
    return specification, pos


def _read_specifications(data: bytes, pos: int) -> tuple[ListContainer, int]:
    """PrefixedArray(Length, RequestSpecification)."""
    count, pos = read_length_form(data, pos)
    specifications = ListContainer()
    for _ in range(count):
        specification, pos = _read_specification(data, pos)
        specifications.append(specification)
    return specifications, pos


def _read_head(data: bytes, tag: bytes) -> tuple[int, Container | None, int]:
    """tag, long-invoke-id-and-priority, optional date-time: (invoke id, date-time, pos)."""
    if data[:1] != tag:
        raise _fail("ConstError", min(1, len(data)))
    pos = _fixed_end(data, 1, 4)
    date_time, pos = read_optional_datetime(data, pos)
    return int.from_bytes(data[1:5], "big"), date_time, pos


# what reads an APDU's counted list of data items: _read_counted_items, or
# _skip_counted_items for a check (the items proved, not built: `data` None)
_ItemsReader = Callable[[bytes, int], tuple[ListContainer | None, int]]


def _read_access_request(
    data: bytes, read_items: _ItemsReader = _read_counted_items
) -> tuple[Container, int]:
    invoke_id, date_time, pos = _read_head(data, ACCESS_REQUEST_TAG)
    specifications, pos = _read_specifications(data, pos)
    items, pos = read_items(data, pos)
    return Container(
        tag=ACCESS_REQUEST_TAG,
        long_invoke_id_and_priority=invoke_id,
        date_time=date_time,
        specifications=specifications,
        data=items,
    ), pos


def _read_access_response(
    data: bytes, read_items: _ItemsReader = _read_counted_items
) -> tuple[Container, int]:
    invoke_id, date_time, pos = _read_head(data, ACCESS_RESPONSE_TAG)
    pos = _fixed_end(data, pos, 1)
    present = data[pos - 1]
    echoed = None
    if present != 0:
        echoed, pos = _read_specifications(data, pos)
    items, pos = read_items(data, pos)
    count, pos = read_length_form(data, pos)
    results = ListContainer()
    for _ in range(count):
        pos = _fixed_end(data, pos, 1)
        kind = data[pos - 1]
        pos = _fixed_end(data, pos, 1)
        result = data[pos - 1]
        results.append(
            Container(
                kind=_SPECIFICATION_KINDS.get(kind) or _unnamed(kind),
                result=_ACCESS_RESULTS.get(result) or _unnamed(result),
            )
        )
    return Container(
        tag=ACCESS_RESPONSE_TAG,
        long_invoke_id_and_priority=invoke_id,
        date_time=date_time,
        echoed_specifications_present=present,
        echoed_specifications=echoed,
        data=items,
        results=results,
    ), pos


def _read_notification(data: bytes) -> tuple[Container, int]:
    invoke_id, date_time, pos = _read_head(data, DATA_NOTIFICATION_TAG)
    notification, pos = _read_item(data, pos)
    return Container(
        tag=DATA_NOTIFICATION_TAG,
        long_invoke_id_and_priority=invoke_id,
        date_time=date_time,
        notification=notification,
    ), pos


_READERS = {
    "dlms-access-request": _read_access_request,
    "dlms-access-response": _read_access_response,
    "dlms-notification": _read_notification,
}


def decode(kind: str, content: bytes, base: int) -> Container:
    """Decode a DLMS payload of the given kind; errors name layer 'dlms' and the offset."""
    read = _READERS.get(kind)
    if read is None:
        raise DecodeError("dlms", f"unknown DLMS payload kind {kind!r}", base)
    return _run(read, content, base)


# the kinds whose data items `check` proves without building them (a notification's one
# item is most of it and little: it is decoded whole)
_CHECKED_READERS = {
    "dlms-access-request": lambda data: _read_access_request(data, _skip_counted_items),
    "dlms-access-response": lambda data: _read_access_response(data, _skip_counted_items),
}


def check(kind: str, content: bytes, base: int) -> Container | None:
    """What decode(kind, content, base) raises, and the non-canonical forms it counts, for
    an access request or response, without building its data items (two thirds of
    decoding it): the APDU with `data` None, to be decoded in full when read
    (gbcs.payload.Deferred). None for other kinds: decode them. tests/gbcs/test_dlms.py
    holds the two to the same verdict and count on every RTDS payload and its edits."""
    read = _CHECKED_READERS.get(kind)
    return None if read is None else _run(read, content, base)


def _run(read: Callable[[bytes], tuple[Container, int]], content: bytes, base: int) -> Container:
    content = bytes(content)
    try:
        value, end = read(content)
    except StreamError as exc:
        text = str(exc).split("\n")[0] or type(exc).__name__
        raise DecodeError("dlms", text, base + exc.position) from None
    if end != len(content):
        raise DecodeError("dlms", f"{len(content) - end} unexpected trailing byte(s)", base + end)
    return value


def decode_compiled(kind: str, content: bytes, base: int) -> Container:
    """decode() by the Structs' compiled parsers: the reference the hand reader is tested on."""
    if kind not in _APDUS:
        raise DecodeError("dlms", f"unknown DLMS payload kind {kind!r}", base)
    compiled = _compiled(kind)
    return parse_layer(compiled, content, "dlms", base)


def encode(kind: str, value: Container) -> bytes:
    """The APDU's bytes: written by hand for values of decode's shapes, else built by the
    Struct (the definition, whose errors and leniencies then apply)."""
    writer = _WRITERS.get(kind)
    if writer is not None:
        out: list[bytes] = []
        try:
            done = writer(out, value)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, struct.error):
            done = False  # the Struct says what is wrong
        if done:
            return b"".join(out)
    return build_layer(_APDUS[kind], value, "dlms")


# --- the hand writers encode uses --------------------------------------------------------
# Each writes what its Struct builds, for values of the shapes decode gives, and returns
# False for anything else (an Enum given by number where a Switch keys on its name, a
# missing field, a value out of range), leaving that to the Struct. construct's interpreted
# build was a third of the strict check's re-encode; tests/gbcs/test_dlms.py holds these
# byte-identical to the Structs.
_KIND_BYTES: dict[str, int] = dict(SpecificationKind.encmapping)
_RESULT_BYTES: dict[str, int] = dict(AccessResult.encmapping)
_PACK_INVOKE = struct.Struct(">I").pack
_PACK_SPECIFICATION = struct.Struct(">BH").pack


def _enum_byte(value: object, names: dict[str, int]) -> int | None:
    """An Enum(Byte) field as construct builds it: by name, or a number 0-255."""
    if isinstance(value, str):
        return names.get(value)
    if type(value) is int and 0 <= value < 0x100:
        return value
    return None


def _write_head(out: list[bytes], tag: bytes, value: Container) -> bool:
    """Tag, long invoke id and priority, optional date-time: the start of every APDU."""
    if value.get("tag", None) not in (None, tag):
        return False
    invoke = value["long_invoke_id_and_priority"]
    if type(invoke) is not int or not 0 <= invoke < 1 << 32:
        return False
    date_time = value["date_time"]
    if date_time is None:
        out += (tag, _PACK_INVOKE(invoke), b"\x00")
    else:
        values = [date_time[name] for name in COSEM_FIELDS]
        out += (tag, _PACK_INVOKE(invoke), b"\x0c", COSEM_STRUCT.pack(*values))
    return True


def _write_specifications(out: list[bytes], specifications: Any) -> bool:
    if type(specifications) is not ListContainer and type(specifications) is not list:
        return False
    out.append(encode_length(len(specifications)))
    for spec in specifications:
        kind = spec["kind"]
        # the selection's Switch keys on the kind's name: a number would skip it
        code = _KIND_BYTES.get(kind) if isinstance(kind, str) else None
        instance = spec["instance_id"]
        member = spec["attribute_or_method"]
        class_id = spec["class_id"]
        selection = spec["selection"]  # the Struct needs the key whatever the kind
        if (
            code is None
            or type(instance) not in (bytes, Obis)
            or len(instance) != 6
            or type(member) is not int
            or type(class_id) is not int
        ):
            return False
        out += (_PACK_SPECIFICATION(code, class_id), instance, bytes((member,)))
        if kind in _SELECTION_KINDS:
            selector = selection["selector"]
            if type(selector) is not int:
                return False
            out.append(bytes((selector,)))
            _write_item(out, selection["parameters"])
    return True


def _write_access_request(out: list[bytes], value: Container) -> bool:
    if not _write_head(out, ACCESS_REQUEST_TAG, value):
        return False
    if not _write_specifications(out, value["specifications"]):
        return False
    _write_counted_items(out, value["data"])
    return True


def _write_access_response(out: list[bytes], value: Container) -> bool:
    if not _write_head(out, ACCESS_RESPONSE_TAG, value):
        return False
    present = value["echoed_specifications_present"]
    if type(present) is not int or not 0 <= present < 0x100:
        return False
    out.append(bytes((present,)))
    echoed = value["echoed_specifications"]  # the Struct needs the key even when absent
    if present and not _write_specifications(out, echoed):
        return False
    _write_counted_items(out, value["data"])
    results = value["results"]
    out.append(encode_length(len(results)))
    for result in results:
        kind = _enum_byte(result["kind"], _KIND_BYTES)
        code = _enum_byte(result["result"], _RESULT_BYTES)
        if kind is None or code is None:
            return False
        out.append(bytes((kind, code)))
    return True


def _write_notification(out: list[bytes], value: Container) -> bool:
    if not _write_head(out, DATA_NOTIFICATION_TAG, value):
        return False
    _write_item(out, value["notification"])
    return True


_WRITERS: dict[str, Callable[[list[bytes], Container], bool]] = {
    "dlms-access-request": _write_access_request,
    "dlms-access-response": _write_access_response,
    "dlms-notification": _write_notification,
}


# --- encrypted (protected) attributes, primer 8.2 ----------------------------------------
SECURITY_HEADER = b"\x31\x00\x00\x00\x00"


def _is_protection_parameters(item: Container) -> bool:
    """array of structure { enum protection type, structure options } (primer 8.2)."""
    return (
        item.type == "array"
        and len(item.value) > 0
        and all(
            p.type == "structure" and len(p.value) == 2 and p.value[0].type == "enum"
            for p in item.value
        )
    )


def _protected_blobs(items: list[Container]) -> list[bytes]:
    """Octet strings 31 00 00 00 00 ... that directly follow their protection parameters,
    either as a structure of the two (ECS17b and most reads) or flattened into a larger
    structure (the ECS68 alert)."""
    found: list[bytes] = []
    for before, item in zip(items, items[1:], strict=False):
        blob = item.value
        if (
            item.type == "octet-string"
            and blob[:5] == SECURITY_HEADER
            and len(blob) >= 5 + 12
            and _is_protection_parameters(before)
        ):
            found.append(blob)
    return found


def iter_items(item: Container) -> Iterator[Container]:
    """Every data item in a tree, depth first (compact-array values are untagged: not items)."""
    yield item
    if item.type in ("array", "structure"):
        for child in item.value:
            yield from iter_items(child)


def encrypted_fragments(value: Container) -> list[bytes]:
    """The protected-attribute octet strings (31 00 00 00 00 + ciphertext + tag) in a payload."""
    tops = [value.notification] if "notification" in value else list(value.get("data", []))
    found: list[bytes] = []
    for top in tops:
        for item in iter_items(top):
            if item.type in ("array", "structure"):
                found.extend(_protected_blobs(item.value))
    return found


def obis_text(instance_id: bytes) -> str:
    """An OBIS code the way the use-case tables print it: a-b:c.d.e.f."""
    return str(Obis(instance_id))
