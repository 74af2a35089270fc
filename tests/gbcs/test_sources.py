"""Where messages come from: hex of any length, base64 (as DUIS carries GBCS), files of
either or of raw bytes, folders, standard input; each named for its source."""

import base64
import io
import os

import pytest
from rtds_vectors import RTDS_ROOT, read_vector

from gbcs.check import iter_sources, parse_message_text, resolve_sources
from gbcs.diskcache import read_bytes
from gbcs.errors import GbcsError, InputError

LONG = RTDS_ROOT / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX"


@pytest.fixture
def message() -> bytes:
    data = read_vector(LONG)
    assert len(data.hex()) > 255  # longer than any file name may be
    return data


def test_hex_of_any_length_and_any_case_with_white_space(message):
    text = message.hex()
    assert parse_message_text(text) == message
    spaced = " ".join(text[i : i + 32].upper() for i in range(0, len(text), 32))
    assert parse_message_text(spaced + "\n") == message


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_standard_or_url_safe_padded_or_not(message, encode):
    text = encode(message).decode()
    assert parse_message_text(text) == message
    assert parse_message_text(text.rstrip("=")) == message


def test_hex_that_is_no_message_still_reaches_the_decoder_but_words_do_not():
    assert parse_message_text("0102") == b"\x01\x02"
    assert parse_message_text("nonsense") is None  # valid base64, but of no message
    assert parse_message_text("   ") is None


def test_a_long_hex_argument_is_not_taken_for_a_file_name(message):
    (source,) = iter_sources([message.hex().upper()])
    assert source.name == "arg#1" and source.data == message


def test_files_folders_strings_and_stdin_in_order(tmp_path, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.hex").write_text(message.hex())
    (tmp_path / "sub" / "a.HEX").write_text(message.hex().upper() + "\n")
    (tmp_path / "sub" / "notes.txt").write_text("not a message")
    as_base64 = tmp_path / "m.b64"
    as_base64.write_text(base64.b64encode(message).decode())
    binary = tmp_path / "m.bin"
    binary.write_bytes(message)
    stdin = io.BytesIO(f"{message.hex()}\n\n{base64.b64encode(message).decode()}\n".encode())
    found = list(
        iter_sources(
            [str(tmp_path / "sub"), str(as_base64), str(binary), message.hex(), "-"], stdin
        )
    )
    assert [s.name for s in found] == [
        "a.HEX",
        "b.hex",
        str(as_base64),
        str(binary),
        "arg#4",
        "-:1",
        "-:3",
    ]
    assert all(s.data == message for s in found)


def test_binary_stdin_is_one_message(message):
    (source,) = iter_sources(["-"], io.BytesIO(message))
    assert source.name == "-" and source.data == message


def test_unreadable_file_and_bad_lines_are_named_not_raised(tmp_path, message):
    bad = tmp_path / "bad.hex"
    bad.write_text("this is not hex")
    found = list(iter_sources([str(bad), "-"], io.BytesIO(b"zz!!\n")))
    assert [(s.name, s.data) for s in found] == [(str(bad), None), ("-", None)]
    assert "neither hex nor base64" in found[0].error


def test_a_source_that_is_nothing_is_a_typed_error():
    with pytest.raises(InputError) as caught:
        resolve_sources(["no/such/file.hex"])
    assert isinstance(caught.value, GbcsError) and caught.value.layer == "input"
    assert "source 1" in caught.value.detail


def test_a_folder_lists_its_hex_files_as_sorted_paths_would(tmp_path, message):
    """The folder walk (os.scandir, for speed) lists and names files exactly as sorting
    Path.rglob's *.hex files did: parts order ('a/b' before 'a-b'), any case of .hex, no
    linked folders followed, no broken links, no hidden '.hex' without a stem."""
    root = tmp_path / "captures"
    for name in ("a/b/one.hex", "a-b/two.HEX", "a/three.Hex", "z.hex", "a/b/c/four.hex"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(message.hex())
    (root / "notes.txt").write_text("not a message")
    (root / ".hex").write_text(message.hex())  # Path.suffix: none
    (root / "a" / "dangling.hex").symlink_to(root / "nowhere.hex")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "linked.hex").write_text(message.hex())
    (root / "a" / "link").symlink_to(tmp_path / "elsewhere")
    expected = [
        str(p.relative_to(root))
        for p in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".hex" and p.is_file())
    ]
    assert expected == [
        "a/b/c/four.hex",
        "a/b/one.hex",
        "a/three.Hex",
        "a-b/two.HEX",
        "z.hex",
    ]
    for given in (str(root), str(root) + "/"):
        sources = list(iter_sources([given]))
        assert [s.name for s in sources] == expected
        assert all(s.data == message for s in sources)


def test_hex_split_inside_a_byte_still_reads(message):
    text = message.hex()
    assert parse_message_text(text[:5] + " " + text[5:]) == message  # "DD00 0..." odd split


def test_a_folder_counts_a_hex_suffix_as_splitext_finds_one(tmp_path, message):
    """The walk's suffix test (a slice, for speed) agrees with os.path.splitext on the names
    where they could part: leading dots, several dots, near misses."""
    names = ["..hex", "...HEX", "x..hex", ".a.hex", "a.hex.txt", "a.hexx", "hex", "b.Hex"]
    for name in names:
        (tmp_path / name).write_text(message.hex())
    expected = sorted(n for n in names if os.path.splitext(n)[1].lower() == ".hex")
    assert expected == [".a.hex", "b.Hex", "x..hex"]
    assert [s.name for s in iter_sources([str(tmp_path)])] == expected


@pytest.mark.parametrize("size", [0, 1, 4096, (1 << 16) - 1, 1 << 16, 200_000])
def test_files_are_read_whole(tmp_path, size):
    """read_bytes (os.open and os.read, for speed) gives a file's bytes as open() did, at
    and past its read size."""
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    assert read_bytes(path) == read_bytes(str(path)) == path.read_bytes()


def test_a_file_that_cannot_be_read_is_an_os_error_as_open_gives(tmp_path):
    for where in (tmp_path, tmp_path / "missing.hex"):
        with pytest.raises(OSError) as ours:
            read_bytes(where)
        with pytest.raises(OSError) as opened:
            with open(where, "rb") as file:
                file.read()
        assert (type(ours.value), ours.value.strerror) == (
            type(opened.value),
            opened.value.strerror,
        )
