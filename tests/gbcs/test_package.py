"""gbcs's package names its API on first read (PEP 562): `import gbcs` loads neither
construct nor cryptography (a two-process check forks before either: gbcs.verifier), and
every public name is its home module's object, build and match the functions though their
modules share their names."""

import subprocess
import sys
from pathlib import Path

import gbcs

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
import gbcs
assert "construct" not in sys.modules and "cryptography" not in sys.modules, "eager"
import gbcs.build, gbcs.match, gbcs.check, gbcs.verifier
assert callable(gbcs.build) and callable(gbcs.match), (gbcs.build, gbcs.match)
from gbcs import build, match
assert build is sys.modules["gbcs.build"].build and match is sys.modules["gbcs.match"].match
print("ok")
"""


def test_import_gbcs_loads_no_codec_and_names_stay_what_they_were():
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stderr[-800:]


def test_every_public_name_is_its_home_modules_object():
    import importlib

    for name, module in gbcs._HOMES.items():  # __all__, and check_message as before
        home = importlib.import_module(f"gbcs.{module}")
        assert getattr(gbcs, name) is getattr(home, name), name
    assert set(gbcs.__all__) <= set(gbcs._HOMES) and set(gbcs._HOMES) <= set(dir(gbcs))


def test_an_unknown_name_is_an_attribute_error():
    try:
        gbcs.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("gbcs.no_such_name was found")
