"""Generated households on the premises page, live whether their models run in the DSP's
process or in the premises host process (which reports them as they change): a 7.6 to one
opens its switch on the page, and RTDS's household stays as it was."""

from __future__ import annotations

import time

import pytest
from web_helpers import DNO, TEMPLATE_7_6, serve, stop

HOUSEHOLD = "gbhan-household-1"
HOUSEHOLD_ESME = "00-DB-12-34-56-00-01-A0"
HOUSEHOLD_HUB = "00-DB-12-34-56-00-01-A2"
HOUSEHOLD_SLOT_3 = "00-DB-12-34-56-00-01-B3"


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
        if not in_process:  # the host's first report may come just after the DSP starts
            deadline = time.monotonic() + 30
            while household["live"] is None and time.monotonic() < deadline:
                time.sleep(0.2)
                household = _premises(served, HOUSEHOLD)
            assert household["live"]["hosted"] is True
        names = {r["name"] for r in household["live"]["meter"]["registers"]}
        assert "meter balance (credit)" in names
        assert household["live"]["meter"]["eui"] == HOUSEHOLD_ESME
        assert household["live"]["hub"]["eui"] == HOUSEHOLD_HUB
        assert {s["slot"]: s["eui"] for s in household["live"]["switches"]}[3] == HOUSEHOLD_SLOT_3
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
