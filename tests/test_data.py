"""The data locator (emulator.data): each item from its own tier of the checkout, the DCC's
files byte for byte as published, and the fallbacks (``$GBHAN_DATA``, then ``../shared``)
used only for what a tier does not hold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from emulator import data

REPO = Path(__file__).resolve().parents[1]

# (locator, files matched, how many, SHA-256 over sorted (relative path, SHA-256 of content)):
# computed once from the published sets; a change here means a DCC file was edited.
PUBLISHED = {
    "rtds": (data.rtds, "**/*", 1103,
             "42b66ed39f86bf0775bb0aceee9fdf12984e29a380915c3bfab6aab98dda6ee9"),
    "rtds_keystore": (data.rtds_keystore, "*", 435,
                      "3d18a482b91b316b42174b1327895e2bc50ef181e24cf5294e3070324b93d016"),
    "keystore_dir": (data.keystore_dir, "*.json", 2,
                     "62290fe1032c893f25e05d391dbffa1c021b992953293c92ee92c9d3240816e4"),
    "duis_schema": (data.duis_schema, "*", 5,
                    "9954363e41b882401fef67e97aceda657c326606e4562e548aa9dea10d0d2994"),
    "duis": (data.duis, "*.XML", 38,
             "5e9e645d535202f54bc7d7b6b02c87d2881dabdfc420d7267a9eb0938900afcf"),
    "duis_catalogue": (data.duis_catalogue, "*.XML", 297,
                       "b9461b8ef9fe499bd2ed8493ccbebf981018659949616a9cbdef17be8c2cc955"),
    "duis_responses": (data.duis_responses, "**/*.*", 7,
                       "32bcf6b13f7d88fe6decc2a0755d82cbc9a949d7cead3f3856e41230fb3c7218"),
}  # fmt: skip
PROGRAM_DATA = ["rtds_keystore", "keystore_dir", "duis_schema", "duis", "duis_catalogue",
                "dccboxed_keystore"]  # fmt: skip
TEST_DATA = ["rtds", "duis_responses", "gbcs_mapping_table"]


def tree_digest(folder: Path, pattern: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    files = sorted(path for path in folder.glob(pattern) if path.is_file())
    for path in files:
        content = hashlib.sha256(path.read_bytes()).digest()
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + content)
    return len(files), digest.hexdigest()


@pytest.mark.parametrize("name", PROGRAM_DATA)
def test_what_the_program_reads_is_package_data(name):
    path = getattr(data, name)()
    assert path.exists()
    assert path.is_relative_to(REPO / "emulator" / "dccdata")


@pytest.mark.parametrize("name", TEST_DATA)
def test_what_only_the_tests_read_is_the_checkouts_data_folder(name):
    path = getattr(data, name)()
    assert path.exists()
    assert path.is_relative_to(REPO / "data")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_set_is_the_published_files_byte_for_byte(name):
    locate, pattern, count, digest = PUBLISHED[name]
    assert tree_digest(locate(), pattern) == (count, digest)


@pytest.mark.parametrize(
    "folder", ["data/rtds", "data/duis", "emulator/dccdata/rtds", "emulator/dccdata/keystore",
               "emulator/dccdata/duis"],
)  # fmt: skip
def test_each_set_has_a_readme_naming_source_version_and_licence(folder):
    text = (REPO / folder / "README.md").read_text()
    assert "SmartDCCInnovation/" in text and "commit " in text  # the source, at a version
    assert "GPL-3.0" in text or "used freely" in text  # the licence it came under


def test_an_item_no_tier_holds_comes_from_gbhan_data(tmp_path, monkeypatch):
    newer = tmp_path / "newer" / "rtds" / "RTDS-9.9.9"
    newer.mkdir(parents=True)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "newer"))
    assert data.rtds("9.9.9") == newer
    assert data.rtds() == REPO / "data" / "rtds" / "RTDS-4.5.0"  # the tier still comes first


def test_the_folder_beside_the_checkout_is_the_last_place_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PACKAGE_DATA", tmp_path / "gone")
    monkeypatch.setattr(data, "_BESIDE_CHECKOUT", tmp_path / "shared")
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "elsewhere"))
    assert data.searched("duis/schema", data.PACKAGE_DATA) == [
        tmp_path / "gone" / "duis" / "schema",
        tmp_path / "elsewhere" / "duis" / "schema",
        tmp_path / "shared" / "duis" / "schema",
    ]
    (tmp_path / "shared" / "duis" / "schema").mkdir(parents=True)
    assert data.duis_schema() == tmp_path / "shared" / "duis" / "schema"


def test_an_item_found_nowhere_is_named_where_it_belongs(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PACKAGE_DATA", tmp_path / "gone")
    monkeypatch.setattr(data, "_BESIDE_CHECKOUT", tmp_path / "no-shared")
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    assert data.dccboxed_keystore() == tmp_path / "gone" / "keystore" / "dccboxed-keystore.json"
    assert not data.dccboxed_keystore().exists()
