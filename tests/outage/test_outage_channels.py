"""The vectorised building blocks against plain, obviously-correct versions (differential),
and the collision rules on small hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from outage_helpers import REPO  # noqa: F401  (puts the repo on sys.path)

from emulator.outage.channels import grouped_fifo, slotted_contention, summarise


def plain_token_bucket(arrivals: list[float], per_s: float, burst: int) -> list[float]:
    """Event by event: a token bucket of `burst` tokens, refilled at per_s, full at the start;
    each item leaves when it has arrived, the one before it has left, and a token is there."""
    tokens, clock, out = float(burst), -math.inf, []
    for a in sorted(arrivals):
        t = max(a, out[-1] if out else -math.inf)
        if clock > -math.inf:
            tokens = min(burst, tokens + (t - clock) * per_s)
        if tokens < 1 - 1e-12:
            t += (1 - tokens) / per_s
            tokens = 1.0
        tokens -= 1
        clock = t
        out.append(t)
    return out


times = st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=150)
@given(times, st.sampled_from([0.5, 3.0, 40.0]), st.integers(1, 8))
def test_token_bucket_matches_event_by_event(arrivals, per_s, burst):
    got = np.sort(fifo_one(arrivals, per_s, burst))
    want = plain_token_bucket(arrivals, per_s, burst)
    assert np.allclose(got, want, atol=1e-6)


def fifo_one(arrivals, per_s, burst):
    a = np.array(arrivals, dtype=float)
    return grouped_fifo(a, np.zeros(a.size, dtype=np.int64), per_s, burst)


@settings(max_examples=60)
@given(times, st.lists(st.integers(0, 3), min_size=60, max_size=60))
def test_groups_are_independent_queues(arrivals, groups):
    a = np.array(arrivals)
    g = np.array(groups[: a.size])
    together = grouped_fifo(a, g, 2.0, 3)
    for group in set(g.tolist()):
        alone = fifo_one(a[g == group], 2.0, 3)
        assert np.allclose(np.sort(together[g == group]), np.sort(alone))


def test_fifo_keeps_nan_and_order_and_unlimited_passes_through():
    a = np.array([5.0, np.nan, 1.0, 1.0])
    out = grouped_fifo(a, np.zeros(4, dtype=np.int64), 1.0)
    assert np.isnan(out[1])
    assert sorted(out[[0, 2, 3]]) == [1.0, 2.0, 5.0]  # the second at 1 s waits its token
    assert np.array_equal(grouped_fifo(a, np.zeros(4, dtype=np.int64), 0), a, equal_nan=True)
    with pytest.raises(ValueError, match="burst"):
        grouped_fifo(a, np.zeros(4, dtype=np.int64), 1.0, burst=0)


def contend(ready, *, deadline=None, frame_loss=0.0, retries=0, channels=1, first=None):
    ready = np.array(ready, dtype=float)
    deadline = np.full(ready.size, np.inf) if deadline is None else np.array(deadline, float)
    return slotted_contention(
        ready, deadline, np.zeros(ready.size, dtype=np.int64), channels=channels, slot_s=1.0,
        frame_loss=frame_loss, retries=retries, retry_s=(10.0, 20.0),
        rng=np.random.default_rng(1), first_channel=first,
    )  # fmt: skip


def test_two_frames_in_one_slot_both_collide_without_retries():
    done, sent = contend([3.2, 3.7, 8.0])
    assert np.isnan(done[0]) and np.isnan(done[1])
    assert done[2] == 9.0  # alone: through at the end of its slot
    assert sent == 3


def test_a_collision_is_resolved_by_resends():
    done, sent = contend([3.2, 3.7], retries=3)
    assert not np.isnan(done).any()
    assert (done > 13.0).all()  # both had to back off at least 10 s
    assert sent >= 4


def test_a_resend_can_spoil_a_frame_that_had_got_through():
    """A late resend landing in a slot another hub already used collides with it: the model
    must not keep that earlier success (the fixpoint)."""
    rng_probe = np.random.default_rng(1)
    backoff = rng_probe.uniform(10.0, 20.0, size=(2, 1))
    resend_slot = math.floor(3.2 + backoff[0, 0])
    done, _ = contend([3.2, 3.7, resend_slot + 0.5], retries=1)
    assert done[2] != resend_slot + 1  # would be, were collisions only counted per round
    assert done[0] != resend_slot + 1


def test_dead_hubs_send_nothing_and_lost_frames_never_arrive():
    done, sent = contend([5.0, 6.0], deadline=[4.0, 100.0])
    assert np.isnan(done[0]) and done[1] == 7.0 and sent == 1
    done, sent = contend([1.0, 2.0], frame_loss=1.0, retries=2)
    assert np.isnan(done).all() and sent == 6


def test_scheduled_first_channels_never_collide():
    done, _ = contend([0.5] * 4, channels=4, first=np.arange(4))
    assert (done == 1.0).all()


def test_summaries_group_by_cell_and_interval():
    arrivals = np.array([1.0, 9.0, 11.0, 2.0, np.nan])
    cells = np.array([0, 0, 0, 1, 1])
    release, which = summarise(arrivals, cells, 10.0)
    assert which[4] == -1
    assert which[0] == which[1] != which[2]
    assert which[3] not in (which[0], which[2])
    assert release[which[0]] == 10.0 and release[which[2]] == 20.0 and release[which[3]] == 10.0
