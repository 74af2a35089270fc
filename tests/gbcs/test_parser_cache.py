"""The compiled construct parsers kept on disk (gbcs.strict.compile_strict): a later run
loads the code an earlier one compiled, the same layout always gives the same cache entry
(whatever the ids of its fields in this process), a corrupt or unwritable cache is compiled
afresh, and a parser from the cache reads every RTDS message as a fresh one does."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from construct import Construct, Container, Int16ub, Struct
from rtds_vectors import read_vector, rtds_files

from gbcs import strict
from gbcs.errors import DecodeError
from gbcs.message import decode
from gbcs.primitives import parse_layer

REPO = Path(__file__).resolve().parents[2]


class Plain(Construct):
    """A field construct cannot compile: its parser is linked by id into the emitted code."""

    def _parse(self, stream, context, path):
        return stream.read(1)


def linked_layout():
    return Struct("a" / Int16ub, "b" / Plain(), "c" / Plain())


LINKED = linked_layout()


def entries(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "gbhan").glob("parser-*.marshal")}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_a_compiled_parser_is_kept_and_loaded_again(cache):
    first = strict.compile_strict(LINKED)
    kept = entries(cache)
    assert len(kept) == 1
    again = strict.compile_strict(LINKED)
    assert entries(cache) == kept  # read, not written again
    assert again.source == first.source
    assert "linkedparsers[0]" in first.source and "linkedparsers[1]" in first.source
    # another layout like it, its fields at other ids: the same entry, and it parses
    other = strict.compile_strict(linked_layout())
    assert entries(cache) == kept and other.source == first.source
    assert parse_layer(other, b"\x00\x01AB", "test") == Container(a=1, b=b"A", c=b"B")


def test_the_same_layout_gives_the_same_entry_in_another_process(cache):
    code = (
        "from gbcs import framing, gbz, strict\n"
        "strict.compile_strict(gbz.ALERT_LAYOUTS['components'])\n"
        "strict.compile_strict(framing.GeneralSigning)\n"
        "framing.general_ciphering_parser()\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    # importing compiles nothing: the DD and DF parsers are made on first use
    subprocess.run([sys.executable, "-c", "import gbcs"], cwd=REPO, env=env, check=True)
    assert entries(cache) == {}
    seen = []
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
        seen.append(entries(cache))
    assert len(seen[0]) >= 3  # the DD and DF parsers and the alert layout
    assert seen[1] == seen[0]  # the second process found every one the first wrote


def test_a_changed_layout_gets_its_own_entry(cache):
    strict.compile_strict(Struct("a" / Int16ub))
    strict.compile_strict(Struct("a" / Int16ub, "b" / Int16ub))
    assert len(entries(cache)) == 2


def test_a_corrupt_entry_is_compiled_afresh_and_rewritten(cache):
    strict.compile_strict(LINKED)
    (name,) = entries(cache)
    path = cache / "gbhan" / name
    path.write_bytes(b"\x00not marshal")
    parser = strict.compile_strict(LINKED)
    assert path.read_bytes() != b"\x00not marshal"
    assert parse_layer(parser, b"\x00\x01AB", "test") == Container(a=1, b=b"A", c=b"B")


@pytest.mark.parametrize(
    "damage",
    ["flip", "cut", "sha256-format"],
    ids=["a-bit-flipped", "cut-short", "an-older-gbhans-sha256-entry"],
)
def test_an_entry_that_is_not_whole_and_of_this_format_reads_as_missing(tmp_path, damage):
    """An entry is its format's mark, the CRC-32 of its marshal'd value, then the value:
    a bit flipped anywhere, a cut, or an entry as gbhan wrote them before (the SHA-256 of
    the value first) reads as missing, never as a wrong value; its key carries the format
    too, so the older entries are never at the same name (gbcs.diskcache)."""
    import hashlib
    import marshal

    from gbcs import diskcache

    path = tmp_path / "entry.marshal"
    value = {"source": "x" * 300, "numbers": list(range(50))}
    diskcache.store_entry(path, value)
    assert diskcache.load_entry(path) == value
    raw = bytearray(path.read_bytes())
    assert raw.startswith(diskcache.ENTRY_FORMAT.encode())
    if damage == "flip":
        for offset in range(0, len(raw), 7):
            flipped = bytearray(raw)
            flipped[offset] ^= 0x10
            path.write_bytes(flipped)
            assert diskcache.load_entry(path) is None, offset
        return
    body = marshal.dumps(value)
    path.write_bytes(raw[:-1] if damage == "cut" else hashlib.sha256(body).digest() + body)
    assert diskcache.load_entry(path) is None


def test_an_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    parser = strict.compile_strict(Struct("a" / Int16ub))
    assert parse_layer(parser, b"\x01\x02", "test") == Container(a=0x0102)
    assert parser.build(Container(a=0x0102)) == b"\x01\x02"  # construct's own build
    with pytest.raises(DecodeError) as error:
        parse_layer(parser, b"\x01", "test", 10)
    assert error.value.layer == "test" and error.value.offset >= 10  # where the data began


def test_parsers_from_the_cache_read_rtds_as_fresh_ones(cache):
    """The GBZ payload parser (the largest) and the DF parser, compiled here and loaded from
    the cache in a second process: both decode every RTDS message to the same tree."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gbcs.message import decode\n"
        "for path in sys.argv[1:]:\n"
        "    print(repr(decode(bytes.fromhex(Path(path).read_text().strip())).payload))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    files = [str(p) for p in rtds_files() if "GCS" in p.name][:120]
    assert len(files) == 120
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, *files],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for _ in range(2)  # the first fills the cache, the second reads it
    ]
    assert runs[0] == runs[1]
    assert runs[0].count("\n") == len(files)
    expected = "".join(repr(decode(read_vector(Path(p))).payload) + "\n" for p in files)
    assert runs[1] == expected


def named_entries(root: Path) -> set[str]:
    return {p.name for p in (root / "gbhan").glob("named-*.marshal")}


def test_a_named_parser_is_loaded_without_walking_the_layout_again(cache, monkeypatch):
    layout = Struct("a" / Int16ub, "b" / Int16ub)
    first = strict.compile_strict(layout, "test.two-shorts")
    assert len(named_entries(cache)) == 1

    def no_walk(*_):
        raise AssertionError("walked the construct tree again")

    monkeypatch.setattr(Struct, "_compileparse", no_walk)
    again = strict.compile_strict(layout, "test.two-shorts")
    assert again.source == first.source
    assert parse_layer(again, b"\x00\x01\x00\x02", "test") == Container(a=1, b=2)


def test_a_parser_calling_fields_by_id_is_not_kept_by_name(cache):
    strict.compile_strict(linked_layout(), "test.linked")
    assert named_entries(cache) == set()
    assert len(entries(cache)) == 1  # kept by its emitted source only


def test_another_package_source_gives_another_named_entry(cache, monkeypatch):
    layout = Struct("a" / Int16ub)
    strict.compile_strict(layout, "test.short")
    monkeypatch.setattr(strict, "_package_digest", lambda: "a gbcs whose files changed")
    strict.compile_strict(layout, "test.short")
    assert len(named_entries(cache)) == 2


def test_the_package_digest_sees_a_module_rewritten_with_its_size_and_time_kept(
    tmp_path, monkeypatch
):
    """Named parsers are kept under a digest of the package's modules as the file system
    describes them (size, inode, modification and change times), not their bytes: a module
    whose bytes change shows, even rewritten in place with its size and modification time
    restored (its change time moves), or replaced by a new file (a new inode)."""
    package = tmp_path / "gbcs"
    package.mkdir()
    for module in Path(strict.__file__).parent.glob("*.py"):
        (package / module.name).write_bytes(module.read_bytes())
    (package / ".#zcl.py").symlink_to("an editor's lock, not a module")  # as glob skips it
    monkeypatch.setattr(strict, "__file__", str(package / "strict.py"))
    digest = strict._package_digest.__wrapped__
    first = digest()
    assert first is not None and digest() == first  # the same files: the same digest

    zcl = package / "zcl.py"
    kept = zcl.stat()
    time.sleep(0.01)  # past any file system's tick finer than that
    data = zcl.read_bytes()
    zcl.write_bytes(data.replace(b"Literal", b"Literax", 1))  # same size, other bytes
    os.utime(zcl, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    assert (zcl.stat().st_size, zcl.stat().st_mtime_ns) == (kept.st_size, kept.st_mtime_ns)
    rewritten = digest()
    assert rewritten not in (None, first)

    replacement = package / "zcl.py.new"
    replacement.write_bytes(data)
    os.utime(replacement, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    os.replace(replacement, zcl)  # as an editor saves: a new file (new entries, old bytes)
    assert digest() not in (None, first, rewritten)
