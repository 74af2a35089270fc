# Mains sense, the holdup supply and the outage alert rules of the Comms Hub.
#
# Rules (SEC H3.14(g) and the DNO requirements in seed 003): an interruption shorter than
# 3 minutes is not a reportable outage (no Power Outage notification); at 3 minutes the hub
# queues its outage notification, sent after a random dither; every restoration queues a
# restoration alert, 8F35, or 8F36 when the outage lasted 3 minutes or more. Queued
# notifications are resent every `retry` seconds until the DSP acknowledges them, at most
# `retries` times. The hub runs on its holdup supply (supercap/battery) while the mains is
# off: `holdup` seconds from full, recharging second for second once the mains is back;
# when it is exhausted the hub dies, and on the next boot finishes what the outage left.
#
# Everything is in the record "outage" (lib/storage.py), written on each mains edge, each
# queued or acknowledged notification, so a power cut at any instant loses nothing that the
# DSP has not acknowledged: it may only see a notification twice (same seq: a duplicate).
from micropython import const
import json

from firmware.commshub.gbcs_alert import (ALERT_RESTORED, ALERT_RESTORED_3_MINUTES,
                                          OUTAGE_REPORTABLE_S)

POA = "poa"
PRA = "pra"
FIRST_COUNTER = const(4000)  # RTDS starts CHF alert counters at 4000 (gbcs-primer 3.2)
_QUEUE_MAX = const(8)

# Queue entries are lists (JSON-friendly): kind, seq/counter, start, end, code, due, tries, flags.
K_KIND = const(0)
K_SEQ = const(1)
K_START = const(2)
K_END = const(3)
K_CODE = const(4)
K_DUE = const(5)
K_TRIES = const(6)
K_FLAGS = const(7)

_UNIX = const(946684800)  # log details give unix seconds, like the console

DEFAULTS = {"holdup": 600, "dither": 30, "pra_dither": 10, "retry": 30, "retries": 5}


class OutageMonitor:
    def __init__(self, store, log, settings, rand):
        self.store = store
        self.log = log
        self.settings = settings  # dict with the DEFAULTS keys (shared with the hub config)
        self.rand = rand  # rand(n) -> 0..n
        self.mains = True
        self.off_since = None  # ZigBee seconds the current outage started
        self.poa_for = None  # start of the outage whose notification is queued or sent
        self.queue = []
        self.counter = FIRST_COUNTER
        self.charge = settings["holdup"]  # seconds of holdup left; full at boot (assumption)
        self.last = None
        self.counters = {"poa": 0, "pra": 0, "sent": 0, "acked": 0, "gave-up": 0, "dropped": 0}
        self._load()

    def _load(self):
        raw = self.store.load("outage")
        try:
            rec = json.loads(raw) if raw is not None else {}
        except ValueError:
            rec = {}
        if not isinstance(rec, dict):
            rec = {}
        self.off_since = rec.get("cur")
        self.poa_for = rec.get("poa")
        self.queue = [e for e in rec.get("q", []) if isinstance(e, list) and len(e) == 8]
        self.counter = rec.get("ctr", FIRST_COUNTER)

    def save(self):
        self.store.save("outage", json.dumps({"cur": self.off_since, "poa": self.poa_for,
                                              "q": self.queue, "ctr": self.counter}).encode())

    def boot(self, now):
        """After a restart: an outage still open in flash ended when the power came back."""
        for entry in self.queue:
            entry[K_DUE] = now  # resend at once whatever was not acknowledged
            entry[K_TRIES] = 0
        if self.off_since is not None:
            self.log.append("power", "restart-after-outage start=%d" % (self.off_since + _UNIX))
            self._restored(now, late=True)
        elif self.queue:
            self.save()
        self.last = now

    def mains_lost(self, now):
        if not self.mains:
            return
        self.mains = False
        self.off_since = now
        self.save()  # first thing, while the holdup supply still has plenty
        self.log.append("power", "mains-lost holdup=%d" % self.charge)

    def mains_restored(self, now):
        if self.mains:
            return
        self.mains = True
        self.log.append("power", "mains-restored")
        if self.off_since is not None:
            self._restored(now, late=False)

    def _restored(self, now, late):
        start = self.off_since
        if start is None:
            return
        duration = now - start
        code = ALERT_RESTORED_3_MINUTES if duration >= OUTAGE_REPORTABLE_S else ALERT_RESTORED
        if code == ALERT_RESTORED_3_MINUTES and self.poa_for != start:
            # Reportable, but not yet reported: we were restarting, or restored in the tick.
            self._queue_poa(start, now, 1 if late else 0)
        self.off_since = None
        due = now + self.rand(self.settings["pra_dither"])
        for entry in self.queue:  # never restore before the outage was reported
            if entry[K_KIND] == POA and entry[K_START] == start:
                due = max(due, entry[K_DUE])
        self._enqueue([PRA, 0, start, now, code, due, 0, 0])
        self.counters["pra"] += 1
        self.log.append("outage", "restored code=%04X start=%d duration=%d" % (
            code, start + _UNIX, duration))

    def _queue_poa(self, start, now, flags):
        self.poa_for = start
        due = max(now, start + OUTAGE_REPORTABLE_S) + self.rand(self.settings["dither"])
        self._enqueue([POA, 0, start, 0, 0, due, 0, flags])
        self.counters["poa"] += 1
        self.log.append("outage", "poa-queued start=%d due=%d" % (start + _UNIX, due + _UNIX))

    def _enqueue(self, entry):
        entry[K_SEQ] = self.counter
        self.counter += 1
        if len(self.queue) >= _QUEUE_MAX:
            dropped = self.queue.pop(0)
            self.counters["dropped"] += 1
            self.log.append("outage", "dropped %s seq=%d" % (dropped[K_KIND], dropped[K_SEQ]))
        self.queue.append(entry)
        self.save()

    def tick(self, now, can_send=True):
        """Advance the holdup and the rules; returns (entries to send now, exhausted)."""
        last = self.last
        self.last = now
        dt = 0 if last is None or now < last else now - last
        if self.mains:
            self.charge = min(self.settings["holdup"], self.charge + dt)
        else:
            self.charge -= dt
            if (self.off_since is not None and self.poa_for != self.off_since
                    and now - self.off_since >= OUTAGE_REPORTABLE_S):
                self._queue_poa(self.off_since, now, 0)
        if not self.mains and self.charge <= 0:
            return [], True
        if not can_send:
            return [], False
        due = []
        changed = False
        for entry in self.queue:
            if entry[K_DUE] > now:
                continue
            if entry[K_TRIES] > self.settings["retries"]:
                self.queue.remove(entry)
                self.counters["gave-up"] += 1
                self.log.append("outage", "gave-up %s seq=%d" % (entry[K_KIND], entry[K_SEQ]))
                changed = True
                break  # the list changed under us; the rest waits for the next tick
            entry[K_TRIES] += 1
            entry[K_DUE] = now + self.settings["retry"]
            self.counters["sent"] += 1
            due.append(entry)
        if changed:
            self.save()
        return due, False

    def ack(self, seq):
        for entry in self.queue:
            if entry[K_SEQ] & 0xFFFF == seq:
                self.queue.remove(entry)
                self.counters["acked"] += 1
                self.save()
                self.log.append("outage", "acked %s seq=%d" % (entry[K_KIND], entry[K_SEQ]))
                return True
        return False
