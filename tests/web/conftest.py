"""One `gbhan dsp serve` process with its web console for the module that asks for it."""

from __future__ import annotations

import pytest
from web_helpers import serve, stop


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    running = serve(tmp_path_factory.mktemp("dsp-state"))
    try:
        yield running
    finally:
        stop(running)
