"""PUT /gbhan/v1/clock on a running `gbhan dsp serve`: a paced DSP started at real speed runs a
day a second from then on (its clock moves about that much in a real second), and back, and
its console's pages are told (a `clock` event); a speed that is none is refused, and a DSP on
the plain wall clock says it cannot change its pace."""

from __future__ import annotations

import datetime as dt
import time

from web_helpers import serve, sse_events, stop

START = "2026-03-01T00:00:00+00:00"
CLOCK = "gbhan/v1/clock"


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_pace_changes_while_the_dsp_runs(tmp_path):
    served = serve(tmp_path / "paced", "--start", START)
    try:
        base = served.duis_url  # the configuration API is on the DUIS port
        before = served.get(CLOCK, base)
        assert before["speed"] == 1 and before["paced"] is True
        status, fast = served.send("PUT", CLOCK, {"speed": 86400}, base)
        assert status == 200 and fast["speed"] == 86400
        time.sleep(1.0)
        later = served.get(CLOCK, base)
        moved = _when(later["utc"]) - _when(fast["utc"])
        assert dt.timedelta(hours=12) < moved < dt.timedelta(days=10)
        # the premises page runs its clock on from this (at a day a second the premises'
        # events never let the stream go quiet: the first clock event, within 10 s)
        events = sse_events(served.web_url + "web/api/events?after=0", 10)
        told = next((data for _id, kind, data in events if kind == "clock"), None)
        assert told is not None and told["speed"] == 86400
        refused = [served.send("PUT", CLOCK, {"speed": bad}, base)[0]
                   for bad in (0, -1, "fast", True)]  # fmt: skip
        assert refused == [400, 400, 400, 400]
        assert served.send("PUT", CLOCK, {"speed": 1}, base)[1]["speed"] == 1
    finally:
        stop(served)
    served = serve(tmp_path / "wall")
    try:
        status, said = served.send("PUT", CLOCK, {"speed": 60}, served.duis_url)
        assert status == 409 and "wall clock" in said["error"]
        assert served.get(CLOCK, served.duis_url)["paced"] is False
    finally:
        stop(served)
