"""6.21 Request Handover of DCC Controlled Device: which devices' remote party roles the DCC
controls, so that the DSP hands over only those.

A device is DCC-controlled for a role when that role's trust anchor cells hold the DCC's
(the ACB's) certificates; the ACB then authorises the replacement as that role's party
(RTDS's 6.21 commands to its GPF: from the ACB, signed, naming the role's cell). The DCC
knows which devices it controls; the DSP keeps that record (`DccControl`), seeded with the
RTDS premises' (its GPF's Network Operator and Supplier cells, as the household's
`gas.dcc_controlled` has them, devices/rtds_household.json: RTDS hands both roles of its GPF
over), and forgets a role once the device has carried out
its handover. A 6.21 for a role the DCC does not control is refused before anything is sent
(E062101, gbhan's choice of 6.21's own code: response_codes.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.credentials import Mismatch, execution_outcome
from gbcs.errors import GbcsError

from . import duis

#: the RTDS premises' devices and the DUIS remote party roles the DCC controls on them
RTDS_DCC_CONTROLLED: dict[bytes, frozenset[str]] = {
    bytes.fromhex("00DB1234567890A3"): frozenset({"NetworkOperator", "Supplier"}),  # RTDS's GPF
}
#: the household's names (devices/gsme/proxy.py DCC_CONTROLLABLE) -> DUIS RemotePartyRole
HOUSEHOLD_ROLES = {"supplier": "Supplier", "network_operator": "NetworkOperator"}


class NotDccControlled(EmulatorError, ValueError):
    """A handover for a role the DCC does not control on that device."""


def requested_role(request: duis.Request) -> str:
    """The DUIS RemotePartyRole a 6.21 request hands over ("" when it names none)."""
    return (request.body.findtext(f".//{{{duis.SR}}}RemotePartyRole") or "").strip()


class DccControl:
    """Device EUI -> the DUIS remote party roles whose cells hold the DCC's certificates."""

    def __init__(self, controlled: Mapping[bytes, Iterable[str]] | None = None) -> None:
        source = RTDS_DCC_CONTROLLED if controlled is None else controlled
        self.controlled = {bytes(eui): set(roles) for eui, roles in source.items()}

    def check(self, request: duis.Request, device: bytes) -> str:
        """The role `request` hands over on `device`; NotDccControlled unless the DCC
        controls it there."""
        role = requested_role(request)
        if role not in self.controlled.get(bytes(device), ()):
            raise NotDccControlled(
                f"{bytes(device).hex().upper()} is not DCC-controlled for {role or 'no role'}"
            )
        return role

    def handed_over(self, device: bytes, role: str) -> None:
        """The device carried out the handover of `role`: the user's cells, not the DCC's."""
        self.controlled.get(bytes(device), set()).discard(role)


def replaced_all(response: bytes) -> bool:
    """Whether a device's CS02b response says every certificate took its cell's place (each
    replacement outcome success): only then does the DCC no longer control the role."""
    try:
        node = decode(response).payload.fields.execution_outcome
        outcomes = execution_outcome(node).get("replacement_outcomes", [])
    except (Mismatch, GbcsError, AttributeError, ValueError, TypeError, KeyError, IndexError):
        return False
    return bool(outcomes) and all(o["status_code"]["code"] == 0 for o in outcomes)
