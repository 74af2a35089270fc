"""Suite-wide test set-up: the Hypothesis profiles and how pytest-xdist shares out the tests.

Hypothesis profiles (registered here once; pick one with HYPOTHESIS_PROFILE=NAME):
- ``default``: no per-example deadline and no too_slow health check (examples that start a
  firmware board or sign with ECDSA are slow by nature, and slower under `-n auto`);
- ``ci``: the default plus Hypothesis's CI behaviour (derandomized, no example database,
  failure blobs printed); chosen by default when the CI variable is set, as .ci/run does;
- ``fast``: the default with 10 examples, for tests that do not pin their own count.
Tests that need more examples than the profile pin them with ``@settings(max_examples=N)``.

xdist (`./test.sh` runs ``-n auto --dist loadfile --no-loadscope-reorder``):
- each test file is one work unit, so a file's module-scoped fixtures (virtual boards, DSPs,
  SMKI repositories, whole HIL suite runs) are built once, on one worker; session-scoped ones
  are built once per worker and must not assume they are alone on the machine (ports are 0 or
  probed, files go under tmp_path, the firmware build cache in ~/.cache/gbhan is written to a
  staging folder and renamed into place);
- ``-n auto`` is two workers per core: most of the suite's time is spent waiting on firmware
  boards, sockets and subprocesses, not computing (PYTEST_XDIST_AUTO_NUM_WORKERS=N overrides);
- the longest files (LONGEST, from ``--durations``) are handed out first, so that none of
  them is left running alone at the end.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

BUILT_IN = settings.get_profile("default")  # Hypothesis's own, whichever profile is loaded
settings.register_profile(
    "default", BUILT_IN, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", settings.get_profile("default"), derandomize=True, database=None, print_blob=True
)
settings.register_profile("fast", settings.get_profile("default"), max_examples=10)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)

# The test files that take longest (whole suite runs, firmware boards, real premises), longest
# first; a file not listed keeps its collection order after these. A stale entry is harmless.
LONGEST = (
    "tests/test_install.py",
    "tests/backoffice/test_backoffice_dcc_tools.py",
    "tests/hil/test_hil_run.py",
    "tests/devices/test_devices_rtds_board.py",
    "tests/hil/test_hil_bench.py",
    "tests/catalogue/test_catalogue_run.py",
    "tests/region/test_region_run.py",
    "tests/firmware/test_fw_radio_setup.py",
    "tests/firmware/test_fw_watchdog.py",
    "tests/firmware/test_fw_commshub_outage.py",
    "tests/backoffice/test_backoffice_dsp_real_premises.py",
    "tests/firmware/test_fw_power_cut.py",
    "tests/grid/test_grid_boards.py",
    "tests/grid/test_grid_real.py",
    "tests/tools/test_gbcs_cli.py",
    "tests/backoffice/test_backoffice_hub_link.py",
    "tests/backoffice/test_backoffice_verify_cli.py",
    # last of the long ones, though it is the longest: its Java signer and whole-catalogue run
    # beside the HIL and firmware timing tests (first above) made their answers miss 15 s
    "tests/catalogue/test_catalogue_dcc_signed.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    if config.option.numprocesses == "logical":
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 * (cores or 1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dcc_tools: runs the DCC's own npm tools (duis-sign-wrap under Java); collected only "
        "when GBHAN_DCC_TOOLS names the folder they were npm-installed in",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The dcc_tools tests left out until GBHAN_DCC_TOOLS is set (CI installs the tools and
    sets it; once set, a missing tool fails them); then, on xdist's workers, the longest
    files first (-n 0 keeps the order)."""
    if not os.environ.get("GBHAN_DCC_TOOLS"):
        left_out = [item for item in items if item.get_closest_marker("dcc_tools")]
        if left_out:
            items[:] = [item for item in items if not item.get_closest_marker("dcc_tools")]
            config.hook.pytest_deselected(items=left_out)
    if not hasattr(config, "workerinput"):
        return
    rank = {path: i for i, path in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
