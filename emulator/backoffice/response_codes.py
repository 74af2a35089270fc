"""DUIS response codes: the closed list the DUIS 5.4 schema allows, with what each means here.

The schema's `ResponseCode` enumeration is the authority for which codes exist (a test checks
this table against it); meanings come from the primer (section 10.4). The schema has no codes
for a failed XML signature, hostile or schema-invalid XML or a replayed request id, and our
sources do not say which numbers the DCC uses, so gbhan picks unused-by-us numbers from the
schema's list and documents the choice here and in docs/backoffice.md; likewise for a service
reference gbhan does not serve at all, which must not read as a role refusal (E2).
"""

from __future__ import annotations

from enum import StrEnum


class FailedCheck(StrEnum):
    """Which check refused a DUIS document: the short text `gbhan duis verify` prints."""

    XML = "xml"  # malformed, hostile or oversized
    SCHEMA = "schema"
    REQUEST = "request"  # schema-valid, but not usable as a request
    SIGNATURE = "signature"
    NO_SIGNATURE = "no signature"
    UNKNOWN_CERTIFICATE = "unknown certificate"


class ResponseCode(StrEnum):
    """The codes gbhan's back office sends; the value is the DUIS text."""

    SUCCESS = "I0"
    ACCEPTED = "I99"
    NOT_A_SEC_PARTY = "E1"
    ROLE_NOT_ELIGIBLE = "E2"
    USER_STATUS_NOT_PERMITTED = "E3"
    ROLE_NOT_AUTHORISED_FOR_DEVICE = "E4"
    DEVICE_STATUS_INCOMPATIBLE = "E5"
    SRV_NOT_FOR_DEVICE_TYPE = "E11"
    COMMAND_VARIANT_NOT_APPLICABLE = "E12"
    REQUEST_TYPE_NOT_FOR_URL = "E13"
    NOT_FOR_LOCAL_DELIVERY = "E17"
    UNKNOWN_DEVICE = "E19"
    CANNOT_COMMUNICATE = "E20"
    NO_DEVICE_RESPONSE = "E21"
    FUTURE_DATED_TIMED_OUT = "E30"
    # gbhan's choices (not in our sources):
    XML_REFUSED = "E40"
    XML_SIGNATURE_FAILED = "E41"
    REPLAYED_REQUEST_ID = "E42"
    NOT_SUPPORTED = "E43"
    # codes the schema lists for one service, whose meaning our sources do not give: gbhan
    # answers them where a schedule named is not the user's (schedules.py)
    SCHEDULE_NOT_FOUND_READ = "E050201"
    SCHEDULE_NOT_FOUND_DELETE = "E050301"
    # and where a 6.21 names a role the DCC does not control on the device (handover.py)
    NOT_DCC_CONTROLLED = "E062101"


MEANINGS: dict[str, str] = {
    "I0": "success (the device's or the DSP's response)",
    "I99": "accepted: passed access control and sent to the device",
    "E1": "user / user role is not a valid SEC party / role",
    "E2": "user role not permitted to send this service reference",
    "E3": "user status not permitted to send this service reference",
    "E4": "user role not authorised for this device at this date and time",
    "E5": "device status incompatible with the service reference",
    "E11": "service reference not compatible with the device type",
    "E12": "command variant not applicable to the request",
    "E13": "request type not valid for the URL",
    "E17": "not available for local delivery for this role / device status",
    "E19": "device does not exist",
    "E20": "cannot communicate with the device",
    "E21": "no response from the device",
    "E30": "future-dated command timed out",
    "E40": "gbhan: XML refused (malformed, DTD/entities, too big, or not valid to the DUIS schema)",
    "E41": "gbhan: XML signature missing, invalid, or by an unknown certificate",
    "E42": "gbhan: request id already used (replay)",
    "E43": "gbhan: service reference variant not supported by this DSP (no role may send it)",
    "E050201": "gbhan (5.2): no schedule of the user's with that id or device",
    "E050301": "gbhan (5.3): no schedule of the user's with that id or device",
    "E062101": "gbhan (6.21): the device's cells of that remote party role are not the DCC's",
}

GBHAN_CHOSEN = frozenset({"E40", "E41", "E42", "E43"})


def meaning(code: str) -> str:
    """What a code means, or a plain note when the schema defines it but our sources do not."""
    return MEANINGS.get(code, "defined by the DUIS schema; meaning not in gbhan's sources")


def is_error(code: str) -> bool:
    return code.startswith("E")
