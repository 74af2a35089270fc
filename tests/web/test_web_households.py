"""Generated households on the premises page: in the DSP's process they are live (a 7.6 to
one opens its switch, and RTDS's household stays as it was); in the premises host process
they are listed from the inventory, marked as having no live state here."""

from __future__ import annotations

import time

import pytest
from web_helpers import DNO, TEMPLATE_7_6, serve, stop

HOUSEHOLD = "gbhan-household-1"
HOUSEHOLD_ESME = "00-DB-12-34-56-00-01-A0"


def _premises(served, name: str) -> dict:
    return next(p for p in served.get("web/api/premises")["premises"] if p["name"] == name)


def _relay(premises: dict, slot: int) -> str:
    return next(s["relay"] for s in premises["live"]["switches"] if s["slot"] == slot)


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "host-process"])
def test_generated_households_on_the_premises_page(tmp_path, in_process):
    extra = ["--households", "1", *(["--households-in-process"] if in_process else [])]
    served = serve(tmp_path / "state", *extra)
    try:
        household = _premises(served, HOUSEHOLD)
        devices = {d["eui"]: d["type"] for d in household["devices"]}
        assert devices[HOUSEHOLD_ESME] == "esme" and len(devices) == 7
        if not in_process:
            assert household["live"] is None
            return
        assert household["live"]["meter"]["eui"] == HOUSEHOLD_ESME
        assert _relay(household, 3) == "closed"
        status, sent = served.send("POST", "web/api/send", {
            "template": TEMPLATE_7_6, "user": DNO, "target": HOUSEHOLD_ESME})  # fmt: skip
        assert status == 200 and sent["error"] is None, sent
        deadline = time.monotonic() + 30
        while _relay(_premises(served, HOUSEHOLD), 3) != "open":
            assert time.monotonic() < deadline, "the household's switch did not open"
            time.sleep(0.2)
        assert _relay(_premises(served, "rtds-premises"), 3) == "closed"
    finally:
        stop(served)
