"""Strict compiled construct parsers, shared by every layer.

construct's compiled parsers read with a bare `io.read(n)` and skip the length checks its
interpreted parsers make, so a truncated message could decode into silently short values.
`compile_strict` keeps construct's emitted code but routes every length-prefixed region
through `_restream_exact` (sized, fully consumed, absolute offsets) and, where every field is
compiled, uses a plain dict for the parse context (much cheaper than construct's Container).
`parse_strict` runs one over bytes and turns any failure into DecodeError(layer, offset).
"""

from __future__ import annotations

import functools
import io
import os
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import construct as _construct
from construct import (
    CodeGen,
    ConstructError,
    Container,
    EnumInteger,
    ListContainer,
    SizeofError,
    StreamError,
)

from .digest import Sha256, sha256
from .diskcache import ENTRY_FORMAT, cache_dir, load_entry, read_bytes, store_entry
from .errors import DecodeError, EncodeError

CONSTRUCT_VERSION: str = getattr(_construct, "__version__", "")

if TYPE_CHECKING:
    from types import ModuleType

    from construct import Renamed

    # construct ships no types, so for mypy these stand in for the parts of its Construct and
    # Compiled that this package subclasses or calls (every layer imports Construct from
    # here); at run time the name is construct's own class.
    class Construct:
        def __init__(self) -> None: ...
        def parse_stream(self, stream: BinaryIO, **contextkw: Any) -> Any: ...
        def build(self, obj: Any, **contextkw: Any) -> bytes: ...
        def compile(self, filename: str | None = None) -> Compiled: ...
        def _parsereport(self, stream: io.BytesIO, context: Container, path: str) -> Any: ...
        def _parse(self, stream: io.BytesIO, context: Container, path: str) -> Any: ...
        def _build(self, obj: Any, stream: io.BytesIO, context: Container, path: str) -> Any: ...
        def _sizeof(self, context: Container, path: str) -> int: ...
        def _compileparse(self, code: CodeGen) -> str: ...
        def _compilebuild(self, code: CodeGen) -> str: ...
        def _emitparse(self, code: CodeGen) -> str: ...
        def __rtruediv__(self, name: str) -> Renamed: ...

    class Compiled(Construct):
        source: str
        module: ModuleType
        defersubcon: Construct
        parsefunc: Callable[[BinaryIO, Any], Any]  # (stream, context) -> value
        buildfunc: Callable[[Any, io.BytesIO, Any], Any]  # (value, stream, context)

else:
    from construct import Construct

_T = TypeVar("_T")


class ExactReadError(StreamError):  # type: ignore[misc]  # construct is untyped
    """A read asked for more bytes than the (sub)stream holds; `offset` is where it began."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class StrictBytesIO(io.BytesIO):
    """A (sub)stream that knows its size and its `origin` in the whole content.

    construct's compiled parsers read with a bare `io.read(n)` and skip its length checks.
    Here fixed-size integers fail on a short read by themselves (struct.error); byte strings
    and odd-sized integers go through `read_exact`; sized regions through `_restream_exact`,
    which also requires them to be consumed whole; lists stop at `size`. So a truncated
    payload is an error, never a silently short value. read() itself stays the fast C one.
    """

    __slots__ = ("origin", "size")
    origin: int
    size: int


def strict_stream(data: bytes, origin: int = 0) -> StrictBytesIO:
    """A StrictBytesIO over `data`, which starts at `origin` in the whole content.

    A factory rather than an __init__: BytesIO's own C constructor plus two slot stores
    costs about half of a Python-level __init__, and payload layers make several a message.
    """
    stream = StrictBytesIO(data)
    stream.origin = origin
    stream.size = len(data)
    return stream


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Exactly n bytes from the stream, or ExactReadError naming where the read began."""
    data = stream.read(n)
    if len(data) != n:
        start = stream.tell() - len(data)
        origin = getattr(stream, "origin", 0)
        if n < 0:
            raise ExactReadError(f"negative length {n}", origin + start)
        raise ExactReadError(f"needs {n} byte(s), only {len(data)} left", origin + start)
    return data


class ExactBytes(Construct):
    """Bytes(length) that also fails on a short read when compiled."""

    def __init__(self, length: int | Callable[[Container], int]):
        super().__init__()
        self.length = length

    def _length(self, context: Container) -> int:
        return self.length(context) if callable(self.length) else self.length

    def _parse(self, stream: io.BytesIO, context: Container, path: str) -> bytes:
        return read_exact(stream, self._length(context))

    def _build(self, obj: Any, stream: io.BytesIO, context: Container, path: str) -> Any:
        length = self._length(context)
        data = bytes(obj)
        if len(data) != length:
            raise StreamError(f"expected {length} bytes, given {len(data)}", path=path)
        stream.write(data)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return self._length(context)

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.strict import read_exact")
        return f"read_exact(io, {self.length})"


class LittleInteger(Construct):
    """An n-byte little-endian integer (ZCL's 24/40/48/56-bit types), strict when compiled."""

    def __init__(self, size: int, signed: bool = False):
        super().__init__()
        self.size = size
        self.signed = signed

    def _parse(self, stream: io.BytesIO, context: Container, path: str) -> int:
        return int.from_bytes(read_exact(stream, self.size), "little", signed=self.signed)

    def _build(self, obj: Any, stream: io.BytesIO, context: Container, path: str) -> Any:
        stream.write(int(obj).to_bytes(self.size, "little", signed=self.signed))
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return self.size

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.strict import read_exact")
        return f"int.from_bytes(read_exact(io, {self.size}), 'little', signed={self.signed})"


def _remaining(stream: BinaryIO) -> int:
    if isinstance(stream, StrictBytesIO):
        return stream.size - stream.tell()
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end - here


class ItemsToEnd(Construct):
    """Items repeated up to the end of the enclosing sized field.

    Unlike construct's GreedyRange, a partial last item is an error, not a silent stop, and
    it compiles (so long lists stay fast)."""

    def __init__(self, subcon: Construct):
        super().__init__()
        self.subcon = subcon

    def _parse(self, stream: io.BytesIO, context: Container, path: str) -> ListContainer:
        items = ListContainer()
        while _remaining(stream) > 0:
            items.append(self.subcon._parsereport(stream, context, path))
        return items

    def _build(self, obj: Any, stream: io.BytesIO, context: Container, path: str) -> Any:
        for item in obj:
            self.subcon._build(item, stream, context, path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        raise SizeofError("items to the end of a field have no fixed size", path=path)

    def _emitparse(self, code: CodeGen) -> str:
        fname = f"parse_items_to_end_{code.allocateId()}"
        code.append(
            f"""
            def {fname}(io, this):
                items = ListContainer()
                while io.tell() < io.size:
                    items.append({self.subcon._compileparse(code)})
                return items
            """
        )
        return f"{fname}(io, this)"


class TrailingOptional(Construct):
    """Optional trailing fields: present when the enclosing sized field has bytes left
    (then they must parse completely), None otherwise."""

    def __init__(self, subcon: Construct):
        super().__init__()
        self.subcon = subcon

    def _parse(self, stream: io.BytesIO, context: Container, path: str) -> Any:
        if _remaining(stream) == 0:
            return None
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj: Any, stream: io.BytesIO, context: Container, path: str) -> Any:
        if obj is not None:
            self.subcon._build(obj, stream, context, path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        raise SizeofError("optional trailing fields have no fixed size", path=path)

    def _emitparse(self, code: CodeGen) -> str:
        return f"(({self.subcon._compileparse(code)}) if io.tell() < io.size else None)"


def _restream_exact(parent: BinaryIO, length: int, func: Callable[[StrictBytesIO], _T]) -> _T:
    """A length-prefixed region: parsed in a strict substream that must be fully consumed."""
    data = read_exact(parent, length)
    origin = getattr(parent, "origin", 0) + parent.tell() - length
    child = strict_stream(data, origin)
    try:
        value = func(child)
    except Exception as exc:
        if not hasattr(exc, "gbcs_offset"):
            offset = getattr(exc, "offset", None) or origin + child.tell()
            exc.gbcs_offset = offset  # type: ignore[attr-defined]  # any exception, tagged
        raise
    if child.tell() != len(data):
        raise ExactReadError(
            f"{len(data) - child.tell()} byte(s) left over in a length-prefixed field",
            origin + child.tell(),
        )
    return value


_CONTEXT_CONTAINER = (
    "this = Container(_ = this, _params = this['_params'], _root = None, _parsing = True, "
    "_building = False, _sizing = False, _subcons = None, _io = io, "
    "_index = this.get('_index', None))\n"
)
_CONTEXT_DICT = "this = {'_': this}\n"
# The patterns below rewrite construct's emitted source when a parser is compiled, not when
# one is loaded from the cache: kept as text (re compiles and caches each on first use), not
# compiled at every import.
# a parse function's context line and construct's root bookkeeping after it, which nothing
# in an all-compiled parser reads (build functions keep theirs)
_PARSE_CONTEXT = (
    re.escape(_CONTEXT_CONTAINER) + r" *this\['_root'\] = this\['_'\]\.get\('_root', this\)\n"
)
# a read of a private context key (this['_io'], this._params, this.get('_index') ...)
_CONTEXT_READ = r"this(?:\[['\"]|\.get\(['\"]|\.)(_[A-Za-z]\w*)"


def _reads_private_context(source: str) -> bool:
    """Whether anything besides construct's own context set-up reads a private context key
    (then the parse contexts keep all of them)."""
    lines = source.splitlines()
    body = [line for line in lines if not line.lstrip().startswith(("this = ", "this['_root']"))]
    return re.search(_CONTEXT_READ, "\n".join(body)) is not None


# construct's compiled Enum builds an EnumInteger and a lambda for every value it parses
_ENUM_PARSE = r"reuse\(\((.*?)\), lambda x: (factory_\d+)\.get\(x, EnumInteger\(x\)\)\)"


def _enum_value(factory: dict[int, Any], value: int) -> Any:
    """An Enum's parsed value: its EnumIntegerString, or EnumInteger when unnamed."""
    named = factory.get(value)
    return named if named is not None else EnumInteger(value)


# construct's code for a sized region holding just bytes (Prefixed(..., GreedyBytes))
_GREEDY_REGION = r"_restream_exact\(io, \((.*?)\), lambda io: \(io\.read\(\)\)\)"


def compile_strict(construct: Construct, name: str | None = None) -> Compiled:
    """construct's compile() of the parser, with every length-prefixed region parsed by
    _restream_exact.

    The emitted source is construct's own; only the call that parses a sized region is
    redirected, so sizes are checked and offsets stay absolute. Building stays construct's
    interpreted build (its compiled build returns an Enum's number where the interpreted one
    keeps the name a Switch keys on). Python's compile() of the source is most of the cost
    (a quarter of a second for the GBZ payload parser), so the final source and its code
    object are kept on disk (`parser_cache_dir`), keyed by a hash of the source construct
    emits: any change to a layout changes that source and so the key.

    A parser with a `name` (one this package always builds the same way, such as
    "gbz.payload") is also kept under that name and a hash of this package's source files,
    so a later process loads it without walking the construct tree to emit its source
    again (a tenth of a second of a small check's CPU for the GBZ parsers). Only parsers
    that call no field by id are kept so: those ids are this process's own.
    """
    named = _named_entry(name) if name is not None else None
    if named is not None:
        loaded = _load_entry(named)
        if loaded is not None:
            return _finish(construct, *loaded, CodeGen(), {})
    code = CodeGen()
    code.append(_PRELUDE)
    code.append(
        f"""
        def parseall(io, this):
            return {construct._compileparse(code)}
        compiled = Compiled(parseall, None)
        """
    )
    # Fields construct cannot compile are called through linked* tables keyed by id(field),
    # which differs between runs: number them in the order construct met them instead, and
    # drop the comments (their reprs), so the same layout always gives the same source.
    number = {ident: n for n, ident in enumerate(code.linkedinstances)}
    emitted = "\n".join(
        line for line in code.toString().splitlines() if not line.lstrip().startswith("#")
    )
    emitted = re.sub(_LINKED, lambda m: f"linked{m[1]}[{number[int(m[2])]}]", emitted)
    source, compiled_code = _cached(emitted, construct.__class__.__name__)
    if named is not None and not code.linkedinstances:
        _store_entry(named, source, compiled_code)
    return _finish(construct, source, compiled_code, code, number)


def _finish(
    construct: Construct,
    source: str,
    compiled_code: CodeType,
    code: CodeGen,
    number: dict[int, int],
) -> Compiled:
    """Run the compiled module and give back its Compiled, linked fields filled in."""
    namespace: dict[str, Any] = {
        "__name__": f"gbcs.compiled.{construct.__class__.__name__}",
        "_restream_exact": _restream_exact,
        "read_exact": read_exact,
        "_enum_value": _enum_value,
    }
    exec(compiled_code, namespace)
    # the prelude made the linked* tables empty: fill them, under the numbers the source uses
    for table in ("linkedinstances", "linkedparsers", "linkedbuilders"):
        namespace[table].update(_renumbered(getattr(code, table), number))
    strict: Compiled = namespace["compiled"]
    strict.source = source
    strict.defersubcon = construct
    strict.buildfunc = lambda value, stream, context: construct._build(
        value, stream, context, "(strict)"
    )
    return strict


def _strict_source(emitted: str) -> str:
    """construct's emitted parser made strict (sized regions, plain-dict contexts, Enums)."""
    source = emitted.replace("restream(io.read(", "_restream_exact(io, (")
    # A sized region that is just bytes needs no substream: read exactly that many.
    source = re.sub(_GREEDY_REGION, r"read_exact(io, \1)", source)
    if "linkedparsers[" not in source and not _reads_private_context(source):
        # Every field is compiled, so nothing reads a parse context by attribute, and no
        # context key is read besides the fields themselves and '_' (the parent context,
        # for this._.x): a one-key dict is enough, much cheaper than construct's nine-key
        # Container per Struct.
        source = re.sub(_PARSE_CONTEXT, lambda _: _CONTEXT_DICT, source)
    return re.sub(_ENUM_PARSE, r"_enum_value(\2, (\1))", source)


# construct's compile() prelude (construct 2.10), which the emitted code relies on
_PRELUDE = """
    from construct import *
    from construct.lib import *
    from io import BytesIO
    import struct
    import collections
    import itertools

    def restream(data, func):
        return func(BytesIO(data))
    def reuse(obj, func):
        return func(obj)

    linkedinstances = {}
    linkedparsers = {}
    linkedbuilders = {}

    len_ = len
    sum_ = sum
    min_ = min
    max_ = max
    abs_ = abs
"""
_LINKED = r"linked(instances|parsers|builders)\[(\d+)\]"


def _transforms_version() -> str:
    """This module's own text, hashed: a change to _strict_source makes new cache keys."""
    try:
        return sha256(Path(__file__).read_bytes()).hex()
    except OSError:  # not read from a file: the source hash alone keys the cache
        return ""


_TRANSFORMS = _transforms_version()


def _renumbered(table: dict[int, Any], number: dict[int, int]) -> dict[int, Any]:
    return {number[ident]: value for ident, value in table.items()}


def parser_cache_dir() -> Path:
    """Where compiled parsers are kept: gbcs.diskcache's folder, $XDG_CACHE_HOME/gbhan."""
    return cache_dir()


def _cached(emitted: str, name: str) -> tuple[str, CodeType]:
    """The strict source for construct's `emitted` parser and its compiled code, from the
    disk cache when an earlier run made them.

    The key hashes the emitted source with the entry format, the Python and construct
    versions (marshal's format is Python's own) and this module's transforms' version; a missing, unreadable or
    corrupt entry is made afresh and written back atomically, and a cache that cannot be
    written is simply not used."""
    key = f"{ENTRY_FORMAT}\0{sys.version}\0{CONSTRUCT_VERSION}\0{_TRANSFORMS}\0{emitted}"
    path = parser_cache_dir() / f"parser-{sha256(key.encode()).hex()[:32]}.marshal"
    loaded = _load_entry(path)
    if loaded is not None:
        return loaded
    source = _strict_source(emitted)
    compiled = compile(source, f"<strict {name}>", "exec")
    _store_entry(path, source, compiled)
    return source, compiled


def _named_entry(name: str) -> Path | None:
    """Where the parser called `name` is kept for this package's source, if it can be."""
    digest = _package_digest()
    if digest is None:
        return None
    key = f"{ENTRY_FORMAT}\0{sys.version}\0{CONSTRUCT_VERSION}\0{digest}\0{name}"
    return parser_cache_dir() / f"named-{sha256(key.encode()).hex()[:32]}.marshal"


@functools.cache
def _package_digest() -> str | None:
    """A hash of every module of this package as it is on disk (None if one cannot be
    read): a change to any layout, or to how they are compiled, gives new named entries.

    On POSIX, of each file's name, size, inode, and modification and change times, not its
    bytes: Python itself reuses a module's bytecode while its size and modification time
    (to the second) stay the same, so a named parser is as fresh as the modules that load
    it, and more (a file rewritten with its size and modification time restored still has
    a new change time, to the file system's tick, which no program can set back; a file
    replaced has a new inode). Reading and hashing the package's half megabyte was 1-3 ms
    of every process's first GBZ message. Elsewhere (Windows, whose change time is the
    creation time) the bytes."""
    digest = Sha256()
    try:
        with os.scandir(Path(__file__).parent) as listing:
            modules = sorted(
                (e.name, e.path)
                for e in listing
                if e.name.endswith(".py") and not e.name.startswith(".")  # as glob("*.py")
            )
        for name, path in modules:
            if os.name == "posix":
                st = os.stat(path)
                facts = f"{st.st_size} {st.st_ino} {st.st_mtime_ns} {st.st_ctime_ns}"
                digest.update(f"{name}\0{facts}\n".encode())
            else:
                digest.update(name.encode() + b"\0" + read_bytes(path))
    except OSError:
        return None
    return digest.hexdigest()


def _load_entry(path: Path) -> tuple[str, CodeType] | None:
    """A kept (source, compiled code) pair, or None (gbcs.diskcache: missing or not intact)."""
    value = load_entry(path)
    if isinstance(value, tuple) and len(value) == 2:
        source, compiled = value
        if isinstance(source, str) and isinstance(compiled, CodeType):
            return source, compiled
    return None


def _store_entry(path: Path, source: str, compiled: CodeType) -> None:
    store_entry(path, (source, compiled))


_DECODE_FAILURES = (
    ConstructError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    OverflowError,
    UnicodeDecodeError,
    struct.error,
)


def parse_strict(compiled: Construct, data: bytes, layer: str, base: int) -> Any:
    """Parse all of `data`; any failure becomes DecodeError(layer, absolute offset)."""
    stream = strict_stream(data)
    try:
        parse = getattr(compiled, "parsefunc", None)
        if parse is not None:  # a compiled parser: skip construct's per-call Container context
            value = parse(stream, {"_params": {}, "_parsing": True, "_io": stream})
        else:
            value = compiled.parse_stream(stream)
    except _DECODE_FAILURES as exc:
        offset = getattr(exc, "gbcs_offset", None)
        if offset is None:
            offset = getattr(exc, "offset", None)
        if offset is None:
            offset = stream.tell()
        text = str(exc).split("\n")[0] or type(exc).__name__
        raise DecodeError(layer, text, base + offset) from None
    if stream.tell() != len(data):
        raise DecodeError(
            layer, f"{len(data) - stream.tell()} unexpected trailing byte(s)", base + stream.tell()
        )
    return value


def build_strict(construct: Construct, value: Any, layer: str) -> bytes:
    """Build bytes from a decoded (or hand-made) value; failures become EncodeError."""
    try:
        return construct.build(value)
    except (ConstructError, ValueError, TypeError, KeyError, AttributeError, struct.error) as exc:
        raise EncodeError(layer, f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    except OverflowError as exc:
        raise EncodeError(layer, f"OverflowError: {exc}") from None
