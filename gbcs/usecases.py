"""The use-case registry: one declaration per GBCS message code.

The registry is the GBCS message-code table: every code of the table as the DCC's parser
publishes it, plus the newer codes RTDS 4.5.0 uses (primer section 7). Names and titles come
from the GBCS use-case tables (via the DUIS mapping table) and, for the older auxiliary-load
use cases the tables omit (ECS47, ECS61a, ECS46c), from the RTDS vectors. Each entry says
its `direction` (a remote party's command and the device's response, a device's alert, or
a HAN-only exchange between devices), its criticality and its `payload` layer (DLMS, GBZ,
ASN.1, or ZSE for HAN-only messages GBCS leaves to ZigBee). `senders` lists the
remote-party roles our sources show sending each command: the use-case tables where the
primer quotes them, else the originators in RTDS (so it is evidence, not the full GBCS
rule). `encoding` is declared only where the payload is ASN.1 DER; every other payload is
recognised by its first bytes (gbcs.payload). A code missing here still decodes, as an
unknown use case.
"""

from .record import FrozenRecord
from .roles import Role

COMMAND = "command"  # a remote party's command (CRA 1) and the device's response (CRA 2)
ALERT = "alert"  # a device's alert to a remote party (CRA 3)
HAN = "han"  # device to device on the HAN (PPMID to meter, HCALCS to ESME), CRA 1 and 2

DIRECTION_CRA_FLAGS = {COMMAND: (1, 2), ALERT: (3,), HAN: (1, 2)}
# payload layer -> the payload kinds gbcs.payload decodes it as
PAYLOAD_KINDS = {
    "dlms": ("dlms-access-request", "dlms-access-response", "dlms-notification"),
    "gbz": ("gbz", "gbz-alert"),
    "asn1": ("asn1",),
    "dlms-or-gbz": (
        "dlms-access-request",
        "dlms-access-response",
        "dlms-notification",
        "gbz",
        "gbz-alert",
    ),
    "zse": (),  # HAN-only: GBCS defines the code, ZigBee Smart Energy the frame
}


class UseCase(FrozenRecord):
    """One GBCS message code: its use case's name, title, direction, criticality and payload
    layer, as the message-code tables give them."""

    FIELDS = (
        "code",
        "name",
        "title",
        "message_type",
        "srvs",
        "senders",
        "encoding",
        "criticality",
        "direction",
        "payload",
    )
    code: int
    name: str
    title: str
    message_type: str | None  # SME.C.C critical command, SME.C.NC, SME.A.C, SME.A.NC ...
    srvs: tuple[str, ...]
    senders: tuple[Role, ...]
    encoding: str | None  # "asn1" or None (recognised from the payload)
    # where the message type says nothing (or "See GBCS"): what the vectors show
    criticality: bool | None
    direction: str  # COMMAND, ALERT or HAN; filled from the code tables below
    payload: str  # a key of PAYLOAD_KINDS; filled from the code tables below

    def __init__(
        self,
        code: int,
        name: str,
        title: str,
        message_type: str | None = None,
        srvs: tuple[str, ...] = (),
        senders: tuple[Role, ...] = (),
        encoding: str | None = None,
        criticality: bool | None = None,
        direction: str = "",
        payload: str = "",
    ) -> None:
        vars(self).update(
            code=code,
            name=name,
            title=title,
            message_type=message_type,
            srvs=srvs,
            senders=senders,
            encoding=encoding,
            criticality=criticality,
            direction=direction,
            payload=payload,
        )

    @property
    def critical(self) -> bool | None:
        """True for critical commands and alerts; None where neither the tables nor the
        vectors settle it (variant use cases such as CS02a, CS02e, CS02f) or where it does
        not apply (HAN-only messages)."""
        if self.message_type in ("SME.C.C", "SME.A.C"):
            return True
        if self.message_type is not None and self.message_type.startswith(("SME.C.NC", "SME.A.NC")):
            return False  # CS01a/b: non-critical "with additional cryptographic processing"
        return self.criticality

    @property
    def cra_flags(self) -> tuple[int, ...]:
        """The CRA flags a message with this code may carry."""
        return DIRECTION_CRA_FLAGS[self.direction]

    def accepts(self, payload_kind: str) -> bool:
        """Whether a decoded payload kind (gbcs.payload) is this use case's layer."""
        return payload_kind in PAYLOAD_KINDS[self.payload]

    @property
    def label(self) -> str:
        return f"{self.name} (0x{self.code:04X}) {self.title}"


S = Role.SUPPLIER
NO = Role.NETWORK_OPERATOR
ACB = Role.ACCESS_CONTROL_BROKER
LC = Role.LOAD_CONTROLLER
TCOS = Role.TRANSITIONAL_COS

_DECLARED = (
    UseCase(
        0x0001,
        "CCS01",
        "Add Device to CHF device log",
        message_type="SME.C.NC",
        srvs=("8.11",),
        senders=(ACB,),
    ),
    UseCase(
        0x0002,
        "CCS02",
        "Remove device from CHF device log",
        message_type="SME.C.NC",
        srvs=("8.11",),
        senders=(ACB,),
    ),
    UseCase(
        0x0003,
        "CCS03",
        "Restore CHF Device Log",
        message_type="SME.C.NC",
        srvs=("8.12.1",),
        senders=(ACB,),
    ),
    UseCase(
        0x0004, "CCS05CCS04", "Set CHF Device Log (CCS05/CCS04)", srvs=("8.9",), senders=(ACB,)
    ),
    UseCase(
        0x0007,
        "CS01a",
        "Apply Prepayment Top Up",
        message_type="SME.C.NC but with additional cryptographic processing specified in GBCS Sections 14.3.4 and 14.3.5",
        srvs=("2.2",),
        senders=(S,),
    ),
    UseCase(
        0x0008,
        "CS02a",
        "Provide Security Credentials Details",
        message_type="Variant Command & Response",
        srvs=("6.24.1",),
        senders=(ACB, TCOS),
        encoding="asn1",
    ),
    UseCase(
        0x000A,
        "CS02c",
        "Issue Security Credentials",
        message_type="SME.C.C",
        srvs=("6.17",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x000B,
        "CS02d",
        "Update Device Certificates on Device",
        message_type="SME.C.C",
        srvs=("6.15.2",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x000C,
        "CS02e",
        "Provide Device Certificates from Device",
        message_type="Variant Command & Response",
        srvs=("6.24.2",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x000D,
        "CS03A1",
        "Method A Join (Meter)",
        message_type="SME.C.C",
        srvs=("8.7.1",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x000E,
        "CS03B",
        "Method B Join",
        message_type="SME.C.NC",
        srvs=("8.7.2",),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x000F,
        "CS04AC",
        "Method A or C Unjoin",
        message_type="SME.C.C",
        srvs=("8.8.1", "8.8.2"),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x0010,
        "CS04B",
        "Method B Unjoin",
        message_type="SME.C.NC",
        srvs=("8.8.2",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x0012,
        "CS06",
        "Activate Firmware",
        message_type="SME.C.C",
        srvs=("11.3",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x0013,
        "CS07",
        "Read Device Join Details",
        message_type="SME.C.NC",
        srvs=("8.9",),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x0015, "CS11", "Clear Event Log", message_type="SME.C.NC", srvs=("3.3",), senders=(S,)
    ),
    UseCase(
        0x0018,
        "CS14",
        "Device Addition To / Removal From HAN Whitelist Alerts",
        message_type="SME.A.NC",
    ),
    UseCase(
        0x001A,
        "ECS02",
        "Set Payment Mode to Credit",
        message_type="SME.C.C",
        srvs=("1.6",),
        senders=(S,),
    ),
    UseCase(
        0x001B,
        "ECS03",
        "Set Payment Mode to Prepayment",
        message_type="SME.C.C",
        srvs=("1.6",),
        senders=(S,),
    ),
    UseCase(
        0x001C,
        "ECS04a",
        "Adjust Meter Balance",
        message_type="SME.C.C",
        srvs=("1.5",),
        senders=(S,),
    ),
    UseCase(
        0x001D,
        "ECS05",
        "Reset Tariff Block Counter Matrix",
        message_type="SME.C.C",
        srvs=("1.7",),
        senders=(S,),
    ),
    UseCase(
        0x001E, "ECS07", "Debt Management", message_type="SME.C.C", srvs=("2.3",), senders=(S,)
    ),
    UseCase(  # superseded by ECS08a; critical as it was (every RTDS ECS08 command signed)
        0x001F,
        "ECS08",
        "Update Prepayment Configuration",
        message_type="SME.C.C",
        srvs=("2.1",),
        senders=(S,),
    ),
    UseCase(
        0x0020,
        "ECS09",
        "Activate Emergency Credit Remotely",
        message_type="SME.C.C",
        srvs=("2.5",),
        senders=(S,),
    ),
    UseCase(
        0x0021,
        "ECS10",
        "Send Message to Meter",
        message_type="SME.C.NC",
        srvs=("3.1",),
        senders=(S,),
    ),
    UseCase(
        0x0022,
        "ECS12",
        "Set Change of Tenancy date",
        message_type="SME.C.NC",
        srvs=("3.2",),
        senders=(S,),
    ),
    UseCase(
        0x0023,
        "ECS14",
        "Disable Privacy PIN Protection",
        message_type="SME.C.NC",
        srvs=("3.5",),
        senders=(S,),
    ),
    UseCase(
        0x0024,
        "ECS15a",
        "Clear Event Log",
        message_type="SME.C.NC",
        srvs=("3.3",),
        senders=(S,),
    ),
    UseCase(
        0x0025,
        "ECS16",
        "Write Supplier Contact Details",
        message_type="SME.C.NC",
        srvs=("3.4",),
        senders=(S,),
    ),
    UseCase(
        0x0027,
        "ECS17b",
        "Read Import Energy / Consumption Registers",
        message_type="SME.C.NC",
        srvs=("4.1.1",),
        senders=(NO, S),
    ),
    UseCase(
        0x002A,
        "ECS17e",
        "Read ESME Energy Register (TOU with Blocks)",
        message_type="SME.C.NC",
        srvs=("4.1.3",),
        senders=(S,),
    ),
    UseCase(
        0x002D,
        "ECS19",
        "Read Prepayment Registers",
        message_type="SME.C.NC",
        srvs=("4.3",),
        senders=(S,),
    ),
    UseCase(
        0x002E,
        "ECS20a",
        "Read Billing Data Log (payment-based debt payments)",
        message_type="SME.C.NC",
        srvs=("4.4.4",),
        senders=(S,),
    ),
    UseCase(
        0x002F,
        "ECS20b",
        "Read Billing Data Log (change of mode / tariff triggered exc export)",
        message_type="SME.C.NC",
        srvs=("4.4.2",),
        senders=(S,),
    ),
    UseCase(
        0x0030,
        "ECS20c",
        "Read Billing Data Log (billing calendar triggered exc export)",
        message_type="SME.C.NC",
        srvs=("4.4.3",),
        senders=(S,),
    ),
    UseCase(
        0x0033,
        "ECS21a",
        "Read Daily Read Log (exc export)",
        message_type="SME.C.NC",
        srvs=("4.6.1",),
        senders=(S,),
    ),
    UseCase(
        0x0034,
        "ECS21b",
        "Read (Prepayment) Daily Read Log",
        message_type="SME.C.NC",
        srvs=("4.14",),
        senders=(ACB, S),
    ),
    UseCase(
        0x0036,
        "ECS22a",
        "Read Half Hour Profile Data (export)",
        message_type="SME.C.NC",
        srvs=("4.8.3",),
        senders=(NO,),
    ),
    UseCase(
        0x0037,
        "ECS22b",
        "Read Half Hour Profile Data (consumption)",
        message_type="SME.C.NC",
        srvs=("4.8.1",),
        senders=(S,),
    ),
    UseCase(
        0x0038,
        "ECS22c",
        "Read Half Hour Profile Data (reactive import)",
        message_type="SME.C.NC",
        srvs=("4.8.2",),
        senders=(S,),
    ),
    UseCase(
        0x0039,
        "ECS23",
        "Read Voltage Operational Data",
        message_type="SME.C.NC",
        srvs=("4.10",),
        senders=(S,),
    ),
    UseCase(
        0x003B,
        "ECS26a",
        "Read Configuration Data Prepayment",
        message_type="SME.C.NC",
        srvs=("4.13",),
        senders=(S,),
    ),
    UseCase(
        0x003C,
        "ECS26b",
        "Read Configuration Voltage Data",
        message_type="SME.C.NC",
        srvs=("6.2.1",),
        senders=(S,),
    ),
    UseCase(
        0x003D,
        "ECS26c",
        "Read Configuration Data Device Information  (randomisation)",
        message_type="SME.C.NC",
        srvs=("6.2.2",),
        senders=(S,),
    ),
    UseCase(
        0x003E,
        "ECS26d",
        "Read Configuration Data Device Information (Billing Calendar)",
        srvs=("6.2.3",),
        senders=(S,),
    ),
    UseCase(
        0x003F,
        "ECS26e",
        "Read Configuration Data Device Information (Smart Meter identity and type)",
        srvs=("6.2.4",),
        senders=(S,),
    ),
    UseCase(
        0x0040,
        "ECS26f",
        "Read Configuration Data Device Information (instantaneous power thresholds)",
        message_type="SME.C.NC",
        srvs=("6.2.5",),
        senders=(S,),
    ),
    UseCase(
        0x0042,
        "ECS27",
        "Read Load Limit Data",
        message_type="SME.C.NC",
        srvs=("4.15",),
        senders=(S,),
    ),
    UseCase(
        0x0043,
        "ECS28a",
        "Set Load Limit Configurations - General Settings",
        message_type="SME.C.C",
        srvs=("6.4.1",),
        senders=(S,),
    ),
    UseCase(
        0x0044,
        "ECS28b",
        "Set Load Limit Configuration Counter Reset",
        message_type="SME.C.NC",
        srvs=("6.4.2",),
        senders=(S,),
    ),
    UseCase(
        0x0045,
        "ECS29a",
        "Set Voltage Configurations on ESME with counter resets",
        message_type="SME.C.NC",
        srvs=("6.5",),
        senders=(NO,),
    ),
    UseCase(
        0x0047,
        "ECS34",
        "Set Instantaneous Power Threshold Configuration",
        message_type="SME.C.NC",
        srvs=("6.12",),
        senders=(S,),
    ),
    UseCase(
        0x0048,
        "ECS35a",
        "Read device Event Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(S,),
    ),
    UseCase(
        0x0049,
        "ECS35b",
        "Read device Security Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(S,),
    ),
    UseCase(
        0x004A,
        "ECS37",
        "Set Maximum Demand Configurable Time Period",
        message_type="SME.C.NC",
        srvs=("6.18.1",),
        senders=(NO,),
    ),
    UseCase(
        0x004B,
        "ECS38",
        "Update Randomised Offset Limit",
        message_type="SME.C.C",
        srvs=("7.12",),
        senders=(S,),
    ),
    UseCase(
        0x004C,
        "ECS39a",
        "Set MPAN / MPRN Value",
        message_type="SME.C.NC",
        srvs=("6.20.1",),
        senders=(S,),
    ),
    UseCase(
        0x004D,
        "ECS39b",
        "Set Export MPAN Value on the ESME",
        message_type="SME.C.NC",
        srvs=("6.20.2",),
        senders=(ACB,),
    ),
    UseCase(
        0x004E,
        "ECS40",
        "Read MPAN / MPRN Value",
        message_type="SME.C.NC",
        srvs=("6.2.7",),
        senders=(S,),
    ),
    UseCase(
        0x004F,
        "ECS42",
        "Remotely Close the Load Switch on the ESME",
        message_type="SME.C.C",
        srvs=("7.1",),
        senders=(S,),
    ),
    UseCase(
        0x0050,
        "ECS43",
        "Remotely Open the Load Switch / close Valve",
        message_type="SME.C.C",
        srvs=("7.2",),
        senders=(S,),
    ),
    UseCase(
        0x0051,
        "ECS44",
        "Arm Load Switch / Valve",
        message_type="SME.C.C",
        srvs=("7.3",),
        senders=(S,),
    ),
    UseCase(
        0x0052,
        "ECS45",
        "Read Status of Load Switch / Valve",
        message_type="SME.C.NC",
        srvs=("7.4",),
        senders=(S,),
    ),
    UseCase(
        0x0053,
        "ECS46a",
        "Set Auxiliary Controller Descriptions",
        message_type="SME.C.C",
        srvs=("6.14.1",),
        senders=(S,),
    ),
    UseCase(
        0x0054,
        "ECS46c",
        "Set HC ALCS and ALCS configuration",
        message_type="SME.C.C",  # signed in RTDS; the tables omit ECS46c
        srvs=("6.14.2",),
        senders=(S,),
    ),
    UseCase(
        0x0055,
        "ECS47",
        "Set / reset HC ALCS or ALCS state",
        message_type="SME.C.C",  # signed in RTDS; the tables omit ECS47
        srvs=("7.5", "7.6", "7.8"),
        senders=(S,),
    ),
    UseCase(
        0x0058,
        "ECS50",
        "Send CIN to meter",
        message_type="SME.C.NC",
        srvs=("9.1",),
        senders=(ACB,),
    ),
    UseCase(
        0x0059,
        "ECS52",
        "Read ESME/SAPC/GSME/Comms Hub Firmware Version",
        message_type="SME.C.NC",
        srvs=("11.2",),
        senders=(S, NO, ACB),
    ),
    UseCase(
        0x005A,
        "ECS57",
        "Reset Maximum Demand Registers",
        message_type="SME.C.NC",
        srvs=("6.18.2",),
        senders=(NO,),
    ),
    UseCase(
        0x005E,
        "ECS61c",
        "Read Boost Function Data",
        message_type="SME.C.NC",
        srvs=("7.11",),
        senders=(S, ACB),
    ),
    UseCase(
        0x005F,
        "ECS62",
        "Set ALCS/APC and Boost Function Association",
        message_type="SME.C.NC",
        srvs=("7.9", "7.10"),
        senders=(S,),
    ),
    UseCase(0x0061, "ECS68", "Critical Sensitive Alert (Billing Data Log)", message_type="SME.A.C"),
    UseCase(
        0x0062,
        "ECS70",
        "Set Clock",
        message_type="SME.C.C",
        srvs=("6.11", "8.1.1"),
        senders=(S,),
    ),
    UseCase(0x0067, "ECS80", "Supply Outage Restore Alert from ESME", message_type="SME.A.C"),
    UseCase(
        0x0068,
        "ECS81",
        "Set Supply Tamper State on ESME",
        message_type="SME.C.C",
        srvs=("6.25",),
        senders=(S,),
    ),
    UseCase(
        0x006B,
        "GCS01a",
        "Set Tariff and Price",
        message_type="SME.C.C",
        srvs=("1.1.1",),
        senders=(S,),
    ),
    UseCase(
        0x006C,
        "GCS02",
        "Set Payment Mode to Credit",
        message_type="SME.C.C",
        srvs=("1.6",),
        senders=(S,),
    ),
    UseCase(
        0x006D,
        "GCS03",
        "Set Payment Mode to Prepayment",
        message_type="SME.C.C",
        srvs=("1.6",),
        senders=(S,),
    ),
    UseCase(
        0x006E, "GCS04", "Debt Management", message_type="SME.C.C", srvs=("2.3",), senders=(S,)
    ),
    UseCase(
        0x006F,
        "GCS05",
        "Update Prepayment Configuration",
        message_type="SME.C.C",
        srvs=("2.1",),
        senders=(S,),
    ),
    UseCase(
        0x0070,
        "GCS06",
        "Activate Emergency Credit Remotely",
        message_type="SME.C.C",
        srvs=("2.5",),
        senders=(S,),
    ),
    UseCase(
        0x0071,
        "GCS07",
        "Send Message to Meter",
        message_type="SME.C.NC",
        srvs=("3.1",),
        senders=(S,),
    ),
    UseCase(
        0x0072,
        "GCS09",
        "Set Change of Tenancy date",
        message_type="SME.C.NC",
        srvs=("3.2",),
        senders=(S,),
    ),
    UseCase(
        0x0073,
        "GCS11",
        "Disable Privacy PIN Protection",
        message_type="SME.C.NC",
        srvs=("3.5",),
        senders=(S,),
    ),
    UseCase(
        0x0074,
        "GCS13a",
        "Read Import Energy / Consumption Registers",
        message_type="SME.C.NC",
        srvs=("4.1.1",),
        senders=(S,),
    ),
    UseCase(
        0x0076,
        "GCS15c",
        "Read Billing Data Log (billing calendar triggered exc export)",
        message_type="SME.C.NC",
        srvs=("4.4.3",),
        senders=(S,),
    ),
    UseCase(
        0x0077,
        "GCS16a",
        "Read Daily Read Log (exc export)",
        message_type="SME.C.NC",
        srvs=("4.6.1",),
        senders=(S,),
    ),
    UseCase(
        0x0078,
        "GCS17",
        "Read Half Hour Profile Data (consumption)",
        message_type="SME.C.NC",
        srvs=("4.8.1",),
        senders=(S,),
    ),
    UseCase(
        0x0079,
        "GCS18",
        "Read Gas Network Data Log",
        message_type="SME.C.NC",
        srvs=("4.10",),
        senders=(S,),
    ),
    UseCase(
        0x007B,
        "GCS21a",
        "Read Configuration Data Device Information (gas)",
        message_type="SME.C.NC",
        srvs=("6.2.8",),
        senders=(S,),
    ),
    UseCase(
        0x007C,
        "GCS23",
        "Set CV and Conversion Factor Value(s) on the GSME",
        message_type="SME.C.C",
        srvs=("6.6",),
        senders=(S,),
    ),
    UseCase(
        0x007E,
        "GCS25",
        "Set Billing Calendar",
        message_type="SME.C.C",
        srvs=("6.8",),
        senders=(S,),
    ),
    UseCase(
        0x007F,
        "GCS28",
        "Set Clock",
        message_type="SME.C.C",
        srvs=("6.11", "8.1.1"),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(
        0x0081,
        "GCS32",
        "Remotely Open the Load Switch / close Valve",
        message_type="SME.C.C",
        srvs=("7.2",),
        senders=(S,),
    ),
    UseCase(
        0x0082,
        "GCS33",
        "Read Status of Load Switch / Valve",
        message_type="SME.C.NC",
        srvs=("7.4",),
        senders=(S,),
    ),
    UseCase(
        0x0084,
        "GCS38",
        "Read ESME/SAPC/GSME/Comms Hub Firmware Version",
        message_type="SME.C.NC",
        srvs=("11.2",),
        senders=(S,),
    ),
    UseCase(
        0x0085,
        "GCS39",
        "Arm Load Switch / Valve",
        message_type="SME.C.C",
        srvs=("7.3",),
        senders=(S,),
    ),
    UseCase(
        0x0086,
        "GCS40a",
        "Adjust Prepayment Mode Meter Balance",
        message_type="SME.C.C",
        srvs=("1.5",),
        senders=(S,),
    ),
    UseCase(
        0x0087,
        "GCS41",
        "Set MPAN / MPRN Value",
        message_type="SME.C.NC",
        srvs=("6.20.1",),
        senders=(S,),
    ),
    UseCase(
        0x0088,
        "GCS44",
        "Write Supplier Contact Details",
        message_type="SME.C.NC",
        srvs=("3.4",),
        senders=(S,),
    ),
    UseCase(
        0x0089,
        "GCS46",
        "Read MPAN / MPRN Value",
        message_type="SME.C.NC",
        srvs=("6.2.7",),
        senders=(S,),
    ),
    UseCase(
        0x008C,
        "GCS59",
        "Restore GPF Device Log",
        message_type="SME.C.NC",
        srvs=("8.12.2",),
        senders=(ACB,),
        encoding="asn1",
    ),
    UseCase(
        0x008D,
        "GCS60",
        "Read Meter Balance for Smart Meter",
        message_type="SME.C.NC",
        srvs=("4.18",),
        senders=(S,),
    ),
    UseCase(
        0x0090,
        "PCS02",
        "Activate Emergency Credit on GSME from PPMID",
        message_type="SME.C.PPMID-GSME",
    ),
    UseCase(
        0x0092,
        "ECS26i",
        "Read Configuration Data Device Information (CH)",
        srvs=("6.2.4",),
        senders=(ACB,),
    ),
    UseCase(
        0x0093,
        "ECS35c",
        "Read CHF Event Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(ACB,),
    ),
    UseCase(
        0x0094,
        "ECS35d",
        "Read CHF Security Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(ACB,),
    ),
    UseCase(
        0x0096,
        "GCS16b",
        "Read (Prepayment) Daily Read Log",
        message_type="SME.C.NC",
        srvs=("4.14",),
        senders=(ACB, S),
    ),
    UseCase(
        0x0097,
        "CS01b",
        "Apply Prepayment Top Up",
        message_type="SME.C.NC but with additional cryptographic processing specified in GBCS Sections 14.3.4 and 14.3.5",
        srvs=("2.2",),
        senders=(S,),
    ),
    UseCase(
        0x009D,
        "GCS21d",
        "Read Configuration Data Device Information (Billing Calendar, gas)",
        srvs=("6.2.3",),
        senders=(S,),
    ),
    UseCase(
        0x009E,
        "GCS21e",
        "Read Configuration Data Device Information (gas identity)",
        srvs=("6.2.4",),
        senders=(S,),
    ),
    UseCase(
        0x00A0,
        "GCS61",
        "Read Daily Consumption Log",
        message_type="SME.C.NC",
        srvs=("4.17",),
        senders=(ACB, S),
    ),
    UseCase(
        0x00A1,
        "CS10b",
        "Read device Security Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(S,),
    ),
    UseCase(0x00A2, "ECS01b", "Set Price", message_type="SME.C.C", srvs=("1.2.1",), senders=(S,)),
    UseCase(0x00A3, "GCS01b", "Set Price", message_type="SME.C.C", srvs=("1.2.1",), senders=(S,)),
    UseCase(
        0x00AB,
        "CS03A2",
        "Method A Join (non-Meter)",
        message_type="SME.C.C",
        srvs=("8.7.1", "8.7.2"),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x00AC,
        "ECS25a",
        "Set Alert  Behaviours - Supplier",
        message_type="SME.C.NC",
        srvs=("6.22",),
        senders=(S,),
    ),
    UseCase(
        0x00AD,
        "GCS20",
        "Set Alert  Behaviours - Supplier",
        message_type="SME.C.NC",
        srvs=("6.22",),
        senders=(S,),
    ),
    UseCase(
        0x00AE,
        "ECS29b",
        "Set Voltage Configurations on ESME - 3 ph with counter resets",
        message_type="SME.C.NC",
        srvs=("6.5",),
        senders=(NO,),
    ),
    UseCase(
        0x00AF,
        "CS03C",
        "Method C Join",
        message_type="SME.C.C",
        srvs=("8.7.1", "8.7.2"),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x00B0,
        "ECS25b",
        "Set Alert  Behaviours - Network Operator",
        message_type="SME.C.NC",
        srvs=("6.22",),
        senders=(NO,),
    ),
    UseCase(0x00B2, "GCS62", "Backup GPF Device Log", message_type="SME.A.NC", encoding="asn1"),
    UseCase(
        0x00B4,
        "GCS40b",
        "Adjust Prepayment Mode Meter Balance: Reset",
        message_type="SME.C.C",
        srvs=("1.5",),
        senders=(S,),
    ),
    UseCase(
        0x00B5,
        "GCS21b",
        "Read Configuration Data Prepayment",
        message_type="SME.C.NC",
        srvs=("4.13",),
        senders=(S,),
    ),
    UseCase(
        0x00B9,
        "ECS35e",
        "Read ESME Power Event Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(S,),
    ),
    UseCase(0x00BA, "ECS35f", "Read ALCS Event Log", srvs=("6.13",), senders=(S,)),
    UseCase(
        0x00BB,
        "ECS61a",
        "Read HC ALCS and ALCS data",
        message_type="SME.C.NC",  # MAC'd, unsigned in RTDS; the tables omit ECS61a
        srvs=("7.7",),
        senders=(S, NO, Role.OTHER),
    ),
    UseCase(
        0x00BD,
        "ECS24b",
        "Read Tariff Data - second element",
        message_type="SME.C.NC",
        srvs=("4.11.2",),
        senders=(S,),
    ),
    UseCase(
        0x00BE,
        "ECS26j",
        "Read Configuration Data Device Information (Payment Mode)",
        message_type="SME.C.NC",
        srvs=("6.2.9",),
        senders=(S,),
    ),
    UseCase(
        0x00BF,
        "GCS21j",
        "Read Configuration Data Device Information (Payment Mode)",
        message_type="SME.C.NC",
        srvs=("6.2.9",),
        senders=(S,),
    ),
    UseCase(
        0x00C0,
        "GCS40c",
        "Adjust Credit Mode Meter Balance",
        message_type="SME.C.C",
        srvs=("1.5",),
        senders=(S,),
    ),
    UseCase(
        0x00C1,
        "ECS15c",
        "Clear Auxiliary Controller Event Log",
        message_type="SME.C.NC",
        srvs=("3.3",),
        senders=(S,),
    ),
    UseCase(
        0x00C2,
        "GCS40d",
        "Adjust Credit Mode Meter Balance: Reset",
        message_type="SME.C.C",
        srvs=("1.5",),
        senders=(S,),
    ),
    UseCase(
        0x00C4,
        "GCS15d",
        "Read Billing Data Log (payment-based debt payments)",
        message_type="SME.C.NC",
        srvs=("4.4.4",),
        senders=(ACB, S),
    ),
    UseCase(
        0x00C6,
        "ECS26k",
        "Read Configuration Voltage Data - 3 Phase",
        message_type="SME.C.NC",
        srvs=("6.2.1",),
        senders=(S,),
    ),
    UseCase(
        0x00C9,
        "ECS20d",
        "Read Billing Data Log (prepayment credits)",
        message_type="SME.C.NC",
        srvs=("4.4.5",),
        senders=(S,),
    ),
    UseCase(
        0x00CA,
        "CS06",
        "Activate Firmware alert (future-dated activation)",
        srvs=("11.3",),
        encoding="asn1",
        criticality=True,
    ),
    UseCase(
        0x00CB,
        "CS02b",
        "Future-dated Update Security Credentials alert",
        message_type="See GBCS",
        srvs=("6.15.1", "6.23"),
        encoding="asn1",
    ),
    UseCase(
        0x00CC,
        "FutureDatedDLMS",
        "Future-dated execution of instruction alert (DLMS)",
        srvs=("1.2.1", "1.6", "2.1", "6.4.1", "6.14.2", "6.14.3"),
    ),
    UseCase(
        0x00CD,
        "FutureDatedGBZ",
        "Future-dated execution of instruction alert (GBZ)",
        srvs=("1.1.1", "1.2.1", "1.6", "2.1"),
    ),
    UseCase(0x00CE, "FDRA-DLMS", "Firmware Distribution Receipt Alert (DLMS)"),
    UseCase(0x00CF, "FDRA-ZigBee", "Firmware Distribution Receipt Alert (GBZ)"),
    UseCase(
        0x00D2,
        "ECS29d",
        "Set Voltage Configurations on polyphase ESME without counter reset",
        message_type="SME.C.NC",
        srvs=("6.5",),
        senders=(NO,),
    ),
    UseCase(
        0x00D3,
        "ECS29e",
        "Reset RMS Voltage Counters on ESME",
        message_type="SME.C.NC",
        srvs=("6.27",),
        senders=(NO,),
    ),
    UseCase(
        0x00D4,
        "ECS29f",
        "Reset RMS Voltage Counters on polyphase ESME",
        message_type="SME.C.NC",
        srvs=("6.27",),
        senders=(NO,),
    ),
    UseCase(
        0x00D7,
        "ECS30a",
        "Set Billing Calendar - all periodicities",
        message_type="SME.C.C",
        srvs=("6.8",),
        senders=(S,),
    ),
    UseCase(
        0x00D8,
        "GCS25a",
        "Set Billing Calendar - all periodicities",
        message_type="SME.C.C",
        srvs=("6.8",),
        senders=(S,),
    ),
    UseCase(
        0x00D9,
        "ECS26l",
        "Read Configuration Data Device Information (Billing Calendar)",
        message_type="SME.C.NC",
        srvs=("6.2.3",),
        senders=(S,),
    ),
    UseCase(
        0x00DA,
        "GCS21k",
        "Read Configuration Data Device Information (Billing Calendar)",
        message_type="SME.C.NC",
        srvs=("6.2.3",),
        senders=(S,),
    ),
    UseCase(
        0x00DB,
        "ECS48",
        "Configure daily resetting of Tariff Block Counter Matrix",
        message_type="SME.C.C",
        srvs=("6.26",),
        senders=(S,),
    ),
    UseCase(
        0x00DE,
        "ECS08a",
        "Update Prepayment Configuration",
        message_type="SME.C.C",
        srvs=("2.1",),
        senders=(S,),
    ),
    UseCase(
        0x00EA,
        "ECS25a1",
        "Set Event Behaviours to HAN Device - Supplier",
        srvs=("6.22",),
        senders=(S,),
    ),
    UseCase(
        0x00EB,
        "ECS25a2",
        "Set Event Behaviours audible alarm - Supplier",
        srvs=("6.22",),
        senders=(S,),
    ),
    UseCase(
        0x00EC,
        "ECS25a3",
        "Set Event Behaviours logging - Supplier",
        srvs=("6.22",),
        senders=(S,),
    ),
    UseCase(
        0x00ED,
        "ECS25b3",
        "Set Event Behaviours logging - Network Operator",
        srvs=("6.22",),
        senders=(NO,),
    ),
    UseCase(
        0x00EE,
        "ECS25r1",
        "Read non-critical event and alert behaviours - Supplier",
        srvs=("6.2.10",),
        senders=(S,),
    ),
    UseCase(
        0x00EF,
        "ECS25r2",
        "Read non-critical event and alert behaviours - Network Operator",
        srvs=("6.2.10",),
        senders=(NO,),
    ),
    UseCase(0x00F0, "MIIWA-DLMS", "Meter Integrity Issue Warning Alert (DLMS)"),
    UseCase(
        0x00F1,
        "GCS20r",
        "Read non-critical event and alert behaviours - Supplier",
        message_type="SME.C.NC",
        srvs=("6.2.10",),
        senders=(S,),
    ),
    UseCase(0x00F2, "MIIWA-ZigBee", "Meter Integrity Issue Warning Alert (GBZ)"),
    UseCase(
        0x00F9,
        "ECS26m",
        "Read Configuration Data Device Information (Smart Meter identity and type, including supply tamper / depletion state )",
        message_type="SME.C.NC",
        srvs=("6.2.4",),
        senders=(S,),
    ),
    UseCase(
        0x00FA,
        "ECS26n",
        "Read Configuration Data Device Information (CH identity and type)",
        message_type="SME.C.NC",
        srvs=("6.2.4",),
        senders=(ACB,),
    ),
    UseCase(
        0x00FB,
        "GCS21m",
        "Read Configuration Data Device Information (Smart Meter identity and type, including supply tamper / depletion state )",
        message_type="SME.C.NC",
        srvs=("6.2.4",),
        senders=(S,),
    ),
    UseCase(
        0x00FC,
        "GCS24a",
        "Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME",
        message_type="SME.C.C",
        srvs=("6.7",),
        senders=(S,),
    ),
    UseCase(
        0x00FD,
        "ECS35g",
        "Read Auxiliary Controller Event Log",
        message_type="SME.C.NC",
        srvs=("6.13",),
        senders=(NO, S),
    ),
    UseCase(
        0x00FE,
        "CCS07",
        "Read CHF Device Logs",
        message_type="SME.C.NC",
        srvs=("8.9",),
        senders=(ACB,),
    ),
    UseCase(
        0x0102,
        "CS02bSupplierBySupplier",
        "Update Security Credentials: Supplier by Supplier",
        srvs=("6.15.1", "6.21"),
        senders=(ACB, S),
        encoding="asn1",
    ),
    UseCase(
        0x0103,
        "CS02bNOByNO",
        "Update Security Credentials: Network Operator",
        srvs=("6.15.1", "6.21"),
        senders=(ACB, NO),
        encoding="asn1",
    ),
    UseCase(
        0x0104,
        "CS02bACBByACB",
        "Update Security Credentials: ACB",
        srvs=("8.5",),
        senders=(ACB,),
        encoding="asn1",
    ),
    UseCase(
        0x0105,
        "CS02bWPByWP",
        "Update Security Credentials: WAN Provider",
        senders=(Role.WAN_PROVIDER,),
        encoding="asn1",
    ),
    UseCase(
        0x0106,
        "CS02bTransCoSByTransCoS",
        "Update Security Credentials: Transitional CoS",
        senders=(TCOS,),
        encoding="asn1",
    ),
    UseCase(
        0x0107,
        "CS02bSupplierByTransCoS",
        "Update Security Credentials: Supplier by Transitional CoS",
        srvs=("6.23",),
        senders=(TCOS,),
        encoding="asn1",
    ),
    UseCase(
        0x0108,
        "CS02bAnyExceptAbnormalRootByRecovery",
        "Update Security Credentials: Recovery",
        senders=(Role.RECOVERY,),
        encoding="asn1",
    ),
    UseCase(
        0x0109,
        "CS02bAnyByContingency",
        "Update Security Credentials: Contingency",
        encoding="asn1",
    ),
    UseCase(
        0x010A,
        "DBCH01",
        "Read CHF Sub GHz Channel",
        message_type="SME.C.NC",
        srvs=("6.31",),
        senders=(ACB,),
    ),
    UseCase(
        0x010B,
        "DBCH02",
        "Read CHF Sub GHz Channel Log",
        message_type="SME.C.NC",
        srvs=("6.32",),
        senders=(ACB,),
    ),
    UseCase(
        0x010C,
        "DBCH03",
        "Read CHF Sub GHz Configuration",
        message_type="SME.C.NC",
        srvs=("6.30",),
        senders=(ACB,),
    ),
    UseCase(
        0x010D,
        "DBCH04",
        "Set CHF Sub GHz Configuration",
        message_type="SME.C.NC",
        srvs=("6.28",),
        senders=(ACB,),
    ),
    UseCase(
        0x010E,
        "DBCH05",
        "Request CHF Sub GHz Channel Scan",
        message_type="SME.C.NC",
        srvs=("6.29",),
        senders=(ACB,),
    ),
    UseCase(
        0x010F,
        "CCS06",
        "Read CHF device log and check HAN communications",
        message_type="SME.C.NC",
        srvs=("8.9",),
        senders=(ACB,),
    ),
    UseCase(
        0x0110,
        "DBCH06",
        "Limited Duty Cycle Action Taken Sub GHz Alert",
        message_type="SME.A.NC",
    ),
    UseCase(
        0x0111,
        "DBCH07",
        "Sub GHz Sub GHz Channel Changed Sub GHz Alert",
        message_type="SME.A.NC",
    ),
    UseCase(
        0x0112,
        "DBCH08",
        "Sub GHz Channel Scan Request Assessment Outcome Sub GHz Alert",
        message_type="SME.A.NC",
    ),
    UseCase(
        0x0113, "DBCH09", "Sub GHz Configuration Changed Sub GHz Alert", message_type="SME.A.NC"
    ),
    UseCase(
        0x0119,
        "HECS01",
        "Request control of HCALCS [n] (ZSE Get Scheduled Events, HAN only)",
        message_type="ZSE specified",
    ),
    UseCase(
        0x011A,
        "ECS46d",
        "Set Auxiliary Controller Calendar",
        message_type="SME.C.C",
        srvs=("6.14.3",),
        senders=(S,),
    ),
    UseCase(
        0x011B,
        "CS02f",
        "Update Security Credentials (CS02f)",
        message_type="See GBCS",
        srvs=("6.24.1",),
        senders=(ACB, S, TCOS),
        encoding="asn1",
    ),
    UseCase(
        0x011C,
        "ECS61d",
        "Read Auxiliary Controller Configuration Data",
        message_type="SME.C.NC",
        srvs=("7.14",),
        senders=(S, NO, ACB, LC),
    ),
    UseCase(
        0x011D,
        "ECS61e",
        "Read Auxiliary Controller Operational Data",
        message_type="SME.C.NC",
        srvs=("7.15",),
        senders=(S, NO, ACB, LC),
    ),
    UseCase(
        0x011E,
        "ECS47a",
        "Set Auxiliary Controller [n] State",
        message_type="SME.C.C",
        srvs=("7.13",),
        senders=(S,),
    ),
    UseCase(
        0x011F,
        "ECS47e",
        "Limit APC [n] Level",
        message_type="SME.C.C",
        srvs=("7.16",),
        senders=(LC,),
    ),
    UseCase(
        0x0120,
        "ECS100",
        "Command not supported by Device",
        message_type="See GBCS Section 7.2.9.1",
    ),
    UseCase(0x0121, "ECS101", "Limit APC [n] Level Command processed", message_type="SME.A.C"),
    UseCase(0x0122, "ECS102", "Limit APC [n] Level ended or cancelled", message_type="SME.A.C"),
    UseCase(0x0123, "ECS200", "Operational Update", message_type="SME.A.C"),
    UseCase(
        0x0124,
        "CS02g",
        "Update Security Credentials: Load Controller (alert)",
        message_type="See GBCS",
        srvs=("6.15.1",),
        encoding="asn1",
    ),
    UseCase(
        0x0125,
        "CS02gLoadControllerByLoadController",
        "Update Security Credentials: Load Controller by Load Controller",
        senders=(LC,),
        encoding="asn1",
    ),
    UseCase(
        0x0126,
        "CS02gLoadControllerBySupplier",
        "Update Security Credentials: Load Controller by Supplier",
        srvs=("6.15.1",),
        senders=(S,),
        encoding="asn1",
    ),
    UseCase(0x0128, "CCS08", "Firmware Transfer Alert", message_type="See GBCS", encoding="asn1"),
    UseCase(
        0x0129,
        "CS08",
        "Read PPMID/HCALCS Firmware Version",
        message_type="See GBCS",
        srvs=("11.2",),
        senders=(ACB,),
        encoding="asn1",
    ),
    UseCase(
        0x012A, "GCS60a", "Read Meter Balance for Smart Meter (a)", srvs=("4.18",), senders=(S,)
    ),
    UseCase(
        0x012B,
        "CS09",
        "PPMID Firmware Activation Alert",
        message_type="SME.A.C",
        encoding="asn1",
    ),
    UseCase(0x1000, "GCA", "Generic Critical Alert"),
    UseCase(0x1001, "GNCA", "Generic Non-Critical Alert"),
    # --- the rest of the GBCS message-code table: codes no RTDS folder exercises ------
    UseCase(0x0014, "CS10a", "Read ZigBee Device Event Log", "SME.C.NC", srvs=("6.13",)),
    UseCase(0x0019, "ECS01a", "Set Tariff and Price on ESME", "SME.C.C", srvs=("1.1.1",)),
    UseCase(0x0026, "ECS17a", "Read ESME Energy Registers (Export Energy)", "SME.C.NC", ("4.2",)),
    UseCase(0x0028, "ECS17c", "Read ESME Energy Registers (Power)", "SME.C.NC", ("4.16",)),
    UseCase(0x0029, "ECS17d", "Read ESME Energy Register (TOU)", "SME.C.NC", ("4.1.2",)),
    UseCase(0x002B, "ECS18a", "Read Maximum Demand Registers (export)", "SME.C.NC", ("4.12.2",)),
    UseCase(0x002C, "ECS18b", "Read Maximum Demand Registers (import)", "SME.C.NC", ("4.12.1",)),
    UseCase(
        0x0035, "ECS21c", "Read Electricity Daily Read Log (export only)", "SME.C.NC", ("4.6.2",)
    ),
    UseCase(0x003A, "ECS24", "Read ESME Tariff Data", "SME.C.NC", ("4.11.1",)),
    UseCase(0x0046, "ECS30", "Set Billing Calendar on the ESME", "SME.C.C"),
    UseCase(0x0060, "ECS66", "Read ESME Daily Consumption Log", "SME.C.NC", ("4.17",)),
    UseCase(0x0069, "ECS82", "Read Meter Balance for ESME", "SME.C.NC", ("4.18",)),
    UseCase(0x0075, "GCS14", "Read GSME Prepayment Registers", "SME.C.NC", ("4.3",)),
    UseCase(
        0x007D,
        "GCS24",
        "Set Uncontrolled Gas Flow Rate and Supply Tamper State on the GSME",
        "SME.C.C",
    ),
    UseCase(0x0080, "GCS31", "Start Network Data Log on GSME", "SME.C.NC", ("14.1",)),
    UseCase(0x0083, "GCS36", "Send CIN to GSME", "SME.C.NC", ("9.1",)),
    UseCase(
        0x008B,
        "GCS53",
        "Push Billing Data Log as an Alert (Critical Sensitive Alert, Billing Data Log)",
        "SME.A.C",
    ),
    UseCase(
        0x009B,
        "PCS01",
        "Apply Prepayment Top Up to a GSME using PPMID",
        "SME.C.PPMID-GSME",
    ),
    UseCase(0x009F, "GCS21f", "Read GSME Tariff Data", "SME.C.NC", ("4.11",)),
    UseCase(0x00B3, "ECS04b", "Reset Meter Balance on the ESME", "SME.C.C", ("1.5",)),
    UseCase(0x00B6, "GCS13c", "Read GSME Register (TOU)", "SME.C.NC", ("4.1",)),
    UseCase(0x00B7, "ECS01c", "Set Tariff and Price on ESME secondary", "SME.C.C", ("1.1.2",)),
    UseCase(0x00B8, "GCS13b", "Read GSME Block Counters", "SME.C.NC", ("4.1",)),
    UseCase(0x00BC, "ECS23b", "Read Voltage Operational Data - 3 Phase", "SME.C.NC", ("4.10",)),
    UseCase(
        0x00C3,
        "GCS15b",
        "Read GSME Billing Data Log (change of mode / tariff triggered)",
        "SME.C.NC",
        ("4.4",),
    ),
    UseCase(
        0x00C5, "GCS15e", "Read GSME Billing Data Log (prepayment credits)", "SME.C.NC", ("4.4",)
    ),
    UseCase(0x00C7, "ECS01d", "Set Price on ESME secondary", "SME.C.C", ("1.2.2",)),
    UseCase(
        0x00D1,
        "ECS29c",
        "Set Voltage Configurations on ESME without counter reset",
        "SME.C.NC",
        ("6.5",),
    ),
    UseCase(
        0x00D5,
        "FTDA",
        "Failure to Deliver Remote Party Message to ESME Alert (8F84)",
        criticality=False,
    ),
    UseCase(
        0x0100,
        "CS02bRootBySupplier",
        "Update Security Credentials (rootBySupplier)",
        encoding="asn1",
        criticality=True,
    ),
    UseCase(
        0x0101,
        "CS02bRootByWanProvider",
        "Update Security Credentials (rootByWanProvider)",
        encoding="asn1",
        criticality=True,
    ),
    UseCase(
        0x0114,
        "DBCH10",
        "Message Discarded Due to Duty Cycle Management Sub GHz Alert",
        "SME.A.NC",
    ),
    UseCase(0x0115, "DBCH11", "No More Sub GHz Device Capacity Sub GHz Alert", "SME.A.NC"),
    UseCase(0x0116, "PECS01", "Apply Prepayment Top Up to an ESME using PPMID", "ZSE specified"),
    UseCase(0x0117, "PECS02", "Activate Emergency Credit on ESME from PPMID", "ZSE specified"),
    UseCase(0x0118, "PECS03", "Request to Enable ESME Supply from PPMID", "ZSE specified"),
)

# message codes a device sends as an alert (CRA 3), with the payload layer each carries
_ALERT_PAYLOADS = {
    0x0018: "dlms",  # CS14
    0x0061: "dlms",  # ECS68
    0x0067: "dlms",  # ECS80
    0x008B: "gbz",  # GCS53
    0x00B2: "asn1",  # GCS62
    0x00CA: "asn1",  # CS06 future-dated activation
    0x00CB: "asn1",  # CS02b future-dated
    0x00CC: "dlms",
    0x00CD: "gbz",
    0x00CE: "dlms",
    0x00CF: "gbz",
    0x00D5: "dlms",
    0x00F0: "dlms",
    0x00F2: "gbz",
    **dict.fromkeys(range(0x0110, 0x0116), "dlms"),  # DBCH06..DBCH11
    **dict.fromkeys(range(0x0120, 0x0124), "dlms"),  # ECS100..ECS200
    0x0124: "asn1",  # CS02g
    0x0128: "asn1",  # CCS08
    0x012B: "asn1",  # CS09
    0x1000: "dlms-or-gbz",  # GCA: DLMS from an ESME, GBZ from a GSME
    0x1001: "dlms-or-gbz",  # GNCA
}
# device-to-device messages on the HAN: the PPMID's and the HCALCS's requests to a meter
_HAN_PAYLOADS = {0x0090: "gbz", 0x009B: "gbz", 0x0116: "zse", 0x0117: "zse", 0x0118: "zse"}
_HAN_PAYLOADS[0x0119] = "zse"  # HECS01
# criticality the message type leaves open, from the vectors: signed alerts are critical
_CRITICALITY = {
    **dict.fromkeys((0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x1000), True),
    **dict.fromkeys((0x00F0, 0x00F2, 0x1001, 0x0113), False),
    **dict.fromkeys((0x0128, 0x012B, 0x0124, 0x00CB, 0x0120), True),
    # non-critical reads and settings, unsigned in every RTDS command
    **dict.fromkeys(
        (0x0004, 0x003E, 0x003F, 0x0092, 0x009D, 0x009E, 0x00BA, 0x012A, 0x0129), False
    ),
    **dict.fromkeys((0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF), False),
}
# name prefixes whose commands carry GBZ (gas, PPMID and ZigBee-device use cases); the rest
# of the command codes without an ASN.1 encoding carry DLMS (ESME and CHF use cases)
_GBZ_PREFIXES = ("GCS", "PCS", "CS01b", "CS10", "CS11")


def _completed(uc: UseCase) -> UseCase:
    """The entry with its direction, payload layer and criticality filled in: set on the
    declared instance, which nothing else holds yet (as a frozen record's __init__ sets
    its fields), rather than 240 copies, which were half of this module's import."""
    if uc.code in _ALERT_PAYLOADS:
        direction, payload = ALERT, _ALERT_PAYLOADS[uc.code]
    elif uc.code in _HAN_PAYLOADS:
        direction, payload = HAN, _HAN_PAYLOADS[uc.code]
    elif uc.encoding == "asn1":
        direction, payload = COMMAND, "asn1"
    else:
        direction = COMMAND
        payload = "gbz" if uc.name.startswith(_GBZ_PREFIXES) else "dlms"
    criticality = uc.criticality
    if criticality is None:
        criticality = _CRITICALITY.get(uc.code)
    vars(uc).update(
        direction=uc.direction or direction, payload=uc.payload or payload, criticality=criticality
    )
    return uc


USE_CASES: dict[int, UseCase] = {
    uc.code: _completed(uc) for uc in sorted(_DECLARED, key=lambda uc: uc.code)
}


def lookup(code: int) -> UseCase | None:
    """The declaration for a message code, or None for a code the registry does not know."""
    return USE_CASES.get(code)


def by_name(name: str) -> UseCase:
    for use_case in USE_CASES.values():
        if use_case.name == name:
            return use_case
    raise KeyError(name)
