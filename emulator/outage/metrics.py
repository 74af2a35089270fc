"""What the DNO sees: the time by which a given share of homes' alerts has arrived, the share
delivered at all, and whether the SEC and DNO deadlines are met."""

from __future__ import annotations

import numpy as np

from .rules import (
    DNO_DELIVERED,
    DNO_POA_S,
    DNO_PRA_S,
    PERCENTILES,
    SEC_DELIVERED,
    SEC_POA_S,
    SEC_PRA_S,
)


def share_time(times: np.ndarray, share: float) -> float | None:
    """Seconds until `share` (0..1) of all homes' alerts have been delivered; None when fewer
    than that share are ever delivered (as the DCC's tables count: '% message delivery')."""
    n = times.size
    need = int(np.ceil(share * n - 1e-9))
    done = np.sort(times[~np.isnan(times)])
    if need == 0:
        return 0.0
    if done.size < need:
        return None
    return float(done[need - 1])


def percentiles(times: np.ndarray, pcts=PERCENTILES) -> dict[str, float | None]:
    return {f"p{p}": share_time(times, p / 100) for p in pcts}


def delivered(times: np.ndarray) -> float:
    return float(np.count_nonzero(~np.isnan(times)) / times.size) if times.size else 0.0


def within(times: np.ndarray, deadline_s: float) -> float:
    """Share of all homes whose alert arrived by the deadline."""
    return float(np.count_nonzero(times <= deadline_s) / times.size) if times.size else 0.0


def verdicts(poa_s: np.ndarray, pra_s: np.ndarray) -> dict[str, dict]:
    """Each ask: the deadline, the share met by it, the share asked for, and met or not."""
    asks = {
        "dno_poa": (poa_s, DNO_POA_S, DNO_DELIVERED),
        "dno_pra": (pra_s, DNO_PRA_S, DNO_DELIVERED),
        "sec_poa": (poa_s, SEC_POA_S, SEC_DELIVERED),
        "sec_pra": (pra_s, SEC_PRA_S, SEC_DELIVERED),
    }
    out = {}
    for name, (times, deadline, share) in asks.items():
        got = within(times, deadline)
        out[name] = {"deadline_s": deadline, "share": got, "asked": share, "met": got >= share}
    return out
