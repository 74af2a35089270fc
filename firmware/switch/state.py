# The switch's state machine, as a pure function of what it remembers and the time passed in.
#
# Precedence: fail-safe (after boot, until the commissioned meter is heard) > boost (the
# consumer's time-limited override) > remote command (with an optional expiry, back to the
# calendar) > calendar (the local daily schedule). A new remote command ends a boost, so the
# latest deliberate action wins; removing the boost association (SRV 7.10) refuses boosts.
#
# Times are ZigBee UTC seconds (2000 epoch): they stay small ints on 32-bit boards.

SOURCE_CALENDAR = "calendar"
SOURCE_REMOTE = "remote"
SOURCE_BOOST = "boost"
SOURCE_FAILSAFE = "failsafe"

ROLE_HCALCS = "hcalcs"
ROLE_PLCS = "plcs"

_DAY = 86400


class SwitchState:
    """What the switch remembers across power cuts, and the rules that give its output."""

    # Fail-safe output: the load stays off until the meter confirms, so a feeder restored
    # after an outage does not see every charger start at once.
    failsafe_relay = False
    failsafe_level = 0
    default_boost_minutes = 60

    def __init__(self, role):
        self.role = role
        self.remote = None  # [relay, level, until (0 = none), cause]
        self.boost_until = 0
        self.boost_allowed = True
        self.boost_minutes = self.default_boost_minutes
        self.calendar = []  # [minute_of_day, relay, level], sorted
        self.label = ""
        self.failsafe = True
        self.generation = 0  # bumped on every commit, so a restart can be checked

    # -- persistence ---------------------------------------------------------------------
    def to_record(self):
        return {"remote": self.remote, "boost_until": self.boost_until,
                "boost_allowed": self.boost_allowed, "boost_minutes": self.boost_minutes,
                "calendar": self.calendar, "label": self.label, "gen": self.generation}

    def from_record(self, record):
        remote = record.get("remote")
        if remote is not None and (not isinstance(remote, list) or len(remote) != 4):
            remote = None
        self.remote = remote
        self.boost_until = int(record.get("boost_until", 0))
        self.boost_allowed = bool(record.get("boost_allowed", True))
        self.boost_minutes = int(record.get("boost_minutes", self.default_boost_minutes))
        self.calendar = [list(e) for e in record.get("calendar", []) if len(e) == 3]
        self.label = str(record.get("label", ""))
        self.generation = int(record.get("gen", 0))

    # -- rules -----------------------------------------------------------------------------
    def _normalise(self, relay, level):
        if self.role == ROLE_HCALCS:
            return relay, (100 if relay else 0)
        return relay, level

    def calendar_output(self, now):
        if not self.calendar:
            return self._normalise(True, 100)
        minute = (now % _DAY) // 60
        chosen = self.calendar[-1]  # before the first entry of the day: yesterday's last
        for entry in self.calendar:
            if entry[0] <= minute:
                chosen = entry
        return self._normalise(bool(chosen[1]), chosen[2])

    def expire(self, now):
        """Drop what has run out; returns the causes, for the event log."""
        causes = []
        if self.remote is not None and self.remote[2] and now >= self.remote[2]:
            causes.append("remote-expired " + self.remote[3])
            self.remote = None
        if self.boost_until and now >= self.boost_until:
            causes.append("boost-expired")
            self.boost_until = 0
        return causes

    def output(self, now, time_valid=True):
        """(relay closed?, level 0-100, source). Without wall time (`now` is only an
        estimate) a calendar cannot say which entry applies: the fail-safe output."""
        if self.failsafe:
            relay, level = self._normalise(self.failsafe_relay, self.failsafe_level)
            return relay, level, SOURCE_FAILSAFE
        if self.boost_until and now < self.boost_until:
            return True, 100, SOURCE_BOOST
        if self.remote is not None and (not self.remote[2] or now < self.remote[2]):
            relay, level = self._normalise(bool(self.remote[0]), self.remote[1])
            return relay, level, SOURCE_REMOTE
        if self.calendar and not time_valid:
            relay, level = self._normalise(self.failsafe_relay, self.failsafe_level)
            return relay, level, SOURCE_FAILSAFE
        relay, level = self.calendar_output(now)
        return relay, level, SOURCE_CALENDAR

    def command(self, relay, level, until, cause):
        """A remote command from the commissioned meter; it ends any boost."""
        relay, level = self._normalise(relay, level)
        self.remote = [1 if relay else 0, level, until, cause]
        self.boost_until = 0

    def reset_to_calendar(self):
        self.remote = None
        self.boost_until = 0

    def press_boost(self, now):
        """Start (or restart) a boost; returns None or the reason it is refused."""
        if not self.boost_allowed:
            return "no-boost-association"
        if self.failsafe:
            return "failsafe"
        self.boost_until = now + self.boost_minutes * 60
        return None

    def set_calendar(self, entries):
        cal = []
        for minute, relay, level in entries:
            if not (0 <= minute < 1440 and 0 <= level <= 100):
                raise ValueError("calendar entry")
            cal.append([minute, 1 if relay else 0, level])
        cal.sort(key=lambda e: e[0])
        self.calendar = cal
