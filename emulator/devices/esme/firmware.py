"""The meter's firmware activation, 11.3 (CS06, critical, ASN.1): activate the image the meter
holds whose manufacturer hash the command names, now or at the command's execution date-time
(all 9s: cancel the one pending).

Now: the answer is the execution outcome, success with the new version, `no_image_held` or
`hash_mismatch` with the version still running. Future-dated: the answer is "command
accepted" and at the time the meter activates and alerts its outcome to the command's
originator (8F66 done, 8F67 not: the activate-firmware alert, 00CA, signed), as RTDS shows;
a new future date replaces a pending one, a cancellation drops it. ECS52 (11.2) reads the
version running.

The image itself arrives by 11.1 (firmware distribution), which gbhan does not serve yet: the
meter starts holding RTDS's image (hash AA7586…4556677) when its profile names none, whose
version (RTDS's immediate activation) is 0123ABCE.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from emulator.clock import Clock
from gbcs import asn1
from gbcs.message import Message

LOGGER = logging.getLogger(__name__)

ACTIVATE_FIRMWARE = 0x0012  # CS06
ACTIVATE_FIRMWARE_ALERT = 0x00CA
DONE, NOT_DONE = 0x8F66, 0x8F67  # the future-dated execution alerts
SUCCESS, NO_IMAGE_HELD, HASH_MISMATCH = 0, 1, 2  # gbcs.asn1's activate-firmware codes
OUTCOMES = {SUCCESS: "success", NO_IMAGE_HELD: "no_image_held", HASH_MISMATCH: "hash_mismatch"}
CANCEL = "99991231235959Z"
#: RTDS's image: its manufacturer hash, and the version it runs once activated
RTDS_IMAGE = (bytes.fromhex("AA758690730934FF0685AA758690730934FF0685657788990011223344556677"),
              bytes.fromhex("0123ABCE"))  # fmt: skip

Alert = Callable[[bytes, int, bytes], Any]  # (to, message code, ASN.1 content)


def _outcome(code: int, version: bytes) -> Any:
    return asn1.sequence(asn1.integer(code), asn1.octet_string(version))


def _generalized(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


class Firmware:
    """What runs (`version`, shared with ECS52's read through `on_version`), the image held
    (hash, version) and the pending activation."""

    def __init__(self, profile: dict, version: bytes, clock: Clock,
                 now: Callable[[], dt.datetime], alert: Alert, stats: Counter,
                 on_version: Callable[[bytes], None]) -> None:  # fmt: skip
        self.version, self.clock, self.now, self.alert = version, clock, now, alert
        self.stats, self.on_version = stats, on_version
        image = profile.get("firmware_image")
        self.image: tuple[bytes, bytes] | None = (
            RTDS_IMAGE if image is None
            else (bytes.fromhex(image["hash"]), bytes.fromhex(image["version"])) if image
            else None
        )  # fmt: skip
        #: the pending activation: (due, the command, its timer)
        self.pending: tuple[dt.datetime, Message, asyncio.TimerHandle] | None = None

    def answer(self, message: Message) -> bytes:
        """The DER response content to a CS06 command (module docstring)."""
        fields = message.payload.fields
        image_hash = bytes(fields.manufacturer_image_hash)
        when = fields.execution_date_time
        if self.pending is not None and when is not None:
            self.pending[2].cancel()
            self.pending = None
        if when is None:
            return asn1.encode_tree(_outcome(self._activate(image_hash), self.version))
        if str(when) != CANCEL:
            at = dt.datetime.strptime(str(when), "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
            delay = max(0.0, (at - self.now()).total_seconds())
            timer = self.clock.call_later(delay, self._due, image_hash)
            self.pending = (at, message, timer)
            self.stats["firmware:scheduled"] += 1
        else:
            self.stats["firmware:cancelled"] += 1
        return asn1.encode_tree(asn1.null())  # command accepted

    def _activate(self, image_hash: bytes) -> int:
        """Run the held image if it is the one named; the activation's response code."""
        if self.image is None:
            code = NO_IMAGE_HELD
        elif self.image[0] != image_hash:
            code = HASH_MISMATCH
        else:
            code = SUCCESS
            self.version = self.image[1]
            self.on_version(self.version)
        self.stats[f"firmware:{OUTCOMES[code]}"] += 1
        return code

    def _due(self, image_hash: bytes) -> None:
        """A future-dated activation falls due: activate, alert the outcome."""
        if self.pending is None:
            return
        at, message, _timer = self.pending
        self.pending = None
        result = self._activate(image_hash)
        code = DONE if result == SUCCESS else NOT_DONE
        LOGGER.info("firmware activation at %s: %04X", at, code)
        content = asn1.encode_tree(asn1.sequence(
            asn1.integer(code), asn1.generalized_time(_generalized(at)),
            asn1.integer(int(message.payload.fields.originator_counter)),
            _outcome(result, self.version)))  # fmt: skip
        self.alert(bytes(message.originator), ACTIVATE_FIRMWARE_ALERT, content)

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending[2].cancel()
            self.pending = None
