"""The DCC back office: DUIS XML, XML signatures, eligibility, DUIS → GBCS (docs/backoffice.md).

The DSP (`Dsp`, put together by `make_dsp`) takes signed DUIS requests from the users
(`DuisUser`, `make_user`), routes GBCS commands over the simulated WAN (`Wan`, `Router`) to
whatever offers a `PremisesPort`, and answers with signed responses and alerts; `HubLink` is
its end of a Comms Hub's WAN link. The document layers (`duis`, `xmlsig`, `document`,
`transform`, `alerts`, `commshub_wan`) are used as modules. `premises_factory` builds the
emulated household from the devices package and is imported on its own, so importing the
back office does not start the devices.
"""

from .assembly import make_dsp
from .commshub_wan import WanError
from .document import Refused
from .dsp import Dsp, DspRefusal, Mailbox
from .duis import BadRequest, DocumentKind, DuisError, HostileXml, SchemaInvalid
from .eligibility import DuisRole, Eligibility, NotEligible
from .hub_link import FrameRefusal, HubFrameRejected, HubLink
from .inventory import Device, Inventory, InventoryError, rtds_inventory
from .keychoice import DeviceTrust, KeyChoiceError
from .registry import RegisteredUser, UserRegistry
from .replay import NotIssued, Replayed
from .response_codes import FailedCheck, ResponseCode
from .routing import ExecutionOutcome, NoRoute, PremisesPort, Router
from .transform import SignedPreCommandRefused, TransformError
from .users import (
    Deliveries,
    DuisUser,
    Endpoint,
    HttpTransport,
    InProcessTransport,
    RoundTripFailed,
    make_user,
)
from .wan import Wan
from .xmlsig import XmlSignatureError

__all__ = [
    "BadRequest",
    "Deliveries",
    "Device",
    "DeviceTrust",
    "DocumentKind",
    "Dsp",
    "DspRefusal",
    "DuisError",
    "DuisRole",
    "DuisUser",
    "Eligibility",
    "Endpoint",
    "ExecutionOutcome",
    "FailedCheck",
    "FrameRefusal",
    "HostileXml",
    "HttpTransport",
    "HubFrameRejected",
    "HubLink",
    "InProcessTransport",
    "Inventory",
    "InventoryError",
    "KeyChoiceError",
    "Mailbox",
    "NoRoute",
    "NotEligible",
    "NotIssued",
    "PremisesPort",
    "Refused",
    "RegisteredUser",
    "Replayed",
    "ResponseCode",
    "RoundTripFailed",
    "Router",
    "SchemaInvalid",
    "SignedPreCommandRefused",
    "TransformError",
    "UserRegistry",
    "Wan",
    "WanError",
    "XmlSignatureError",
    "make_dsp",
    "make_user",
    "rtds_inventory",
]
