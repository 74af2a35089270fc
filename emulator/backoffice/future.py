"""DSP future-dating: a request for an SRV whose DUIS future-dated response pattern is "DSP"
that names an ExecutionDateTime is held by the DSP and sent to the device at that time (the
device never sees the date); its answer then reaches the user as any other's.

Which SRVs: duis-parser's request matrix ("Future Dated Response Pattern": DSP). Device
future-dating (1.1.1, 6.4.1 ...: the meter holds the command) is the transform's and the
device's, not this module's.

Our reading where our sources are silent: the acknowledgement at once is I99 (accepted, the
command not yet sent); an ExecutionDateTime already past (the catalogue's 2015 template) is
sent at once; a held request is not kept over a DSP restart as held (the ledger's `queued`
entry is sent at once by `resume`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace

from .duis import SR, Request

#: SRV variants whose future-dated response pattern is "DSP" (duis-parser's matrix)
DSP_FUTURE_DATED = frozenset({
    "3.1", "3.2", "3.4", "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.2", "4.3", "4.4.2", "4.4.3",
    "4.4.4", "4.4.5", "4.6.1", "4.6.2", "4.8.1", "4.8.2", "4.8.3", "4.10", "4.12.1", "4.12.2",
    "4.13", "4.14", "4.15", "4.17", "4.18", "6.4.2", "6.5", "6.12", "6.18.1", "6.18.2",
    "6.20.1", "6.20.2", "6.21", "6.27", "7.7", "7.9", "7.10", "7.11", "7.14", "7.15", "8.5",
    "8.9", "8.11", "11.2",
})  # fmt: skip
EXECUTION = f"{{{SR}}}ExecutionDateTime"


class FutureDatedError(ValueError):
    """An ExecutionDateTime that is no date-time."""


def execution_time(request: Request) -> dt.datetime | None:
    """When the DSP is to send a DSP future-dated request (UTC); None for one to send now
    (no ExecutionDateTime, or an SRV the DSP does not future-date)."""
    if request.service_reference_variant not in DSP_FUTURE_DATED:
        return None
    node = request.body.find(EXECUTION)
    if node is None:
        return None
    text = (node.text or "").strip()
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FutureDatedError(f"ExecutionDateTime {text!r} is no date-time") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def for_now(request: Request) -> Request:
    """The request as the DSP sends it when its time comes: its body without the
    ExecutionDateTime (a copy; the signed original is kept as it was)."""
    body = copy.deepcopy(request.body)
    for node in body.findall(EXECUTION):
        body.remove(node)
    return replace(request, body=body)


def delay_s(when: dt.datetime, now: dt.datetime) -> float:
    """Seconds until `when` (0 for a time already past)."""
    return max(0.0, (when - now).total_seconds())
