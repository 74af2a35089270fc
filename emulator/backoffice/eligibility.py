"""Which DUIS user roles may send which service request: one declared table.

The base table is duis-parser's eligibility matrix as the primer (10.3) quotes it, before
SECMP0046, with one role of gbhan's beside DUIS's seven: the Load Controller, for 7.16
(`DuisRole.LOAD_CONTROLLER`). SECMP0046 adds the Electricity Distributor to the HCALCS
services in two steps, each a switch: 7.6/7.7/7.8 (on by default) and the Boost Button
services 7.9/7.10/7.11 (off by default). 7.7 already lists the Electricity Distributor; the
switch keeps it either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from emulator.errors import EmulatorError

from .response_codes import ResponseCode


class DuisRole(StrEnum):
    """DUIS user roles (the abbreviations DUIS and duis-parser use)."""

    IMPORT_SUPPLIER = "IS"
    EXPORT_SUPPLIER = "ES"
    GAS_SUPPLIER = "GS"
    REGISTERED_SUPPLIER_AGENT = "RSA"
    ELECTRICITY_DISTRIBUTOR = "ED"
    GAS_TRANSPORTER = "GT"
    OTHER_USER = "OU"
    # gbhan's: a Load Controller user, the sender the catalogue's 7.16 (ECS47e) templates name
    # (RTDS's 90-B3-D5-1F-30-01-00-08). GBCS lets only that remote party send ECS47e, DUIS
    # 5.4 names it (RemotePartyRole LoadController) and DCC Boxed's keystore holds one
    # (Z1-loadController, role 8), but no DUIS user role list in our sources has it.
    LOAD_CONTROLLER = "LC"


IS, ES, GS, RSA, ED, GT, OU, LC = DuisRole
#: the seven user roles DUIS defines: what "every role" means for a service open to all
DUIS_ROLES = frozenset({IS, ES, GS, RSA, ED, GT, OU})

BASE_ELIGIBILITY: dict[str, frozenset[DuisRole]] = {
    "6.14.1": frozenset({IS}),
    "6.14.2": frozenset({IS}),
    "6.14.3": frozenset({IS}),
    "7.5": frozenset({IS}),
    "7.6": frozenset({IS}),
    "7.7": frozenset({IS, ED, OU}),
    "7.8": frozenset({IS}),
    "7.9": frozenset({IS}),
    "7.10": frozenset({IS}),
    "7.11": frozenset({IS, OU}),
    "7.13": frozenset({IS}),
    "7.14": frozenset({IS, ED, OU}),
    "7.15": frozenset({IS, ED, OU}),
    # Limit APC Level (ECS47e): duis-parser's matrix names no role; GBCS's one sender is the
    # Load Controller (whose certificate a Supplier places with 6.15.1 CS02g): gbhan's LC
    "7.16": frozenset({LC}),
    # Service Opt In (serviceD, nondevice.py): duis-parser's matrix names no role; the
    # meter's Supplier, as for 8.5's Service Opt Out
    "8.6": frozenset({IS, GS}),
    "8.2": DUIS_ROLES,  # Read Inventory (serviceD), open to every user role
    "8.7.1": frozenset({IS, GS}),
    "8.7.2": frozenset({IS, GS, OU}),
    "8.8.1": frozenset({IS, GS}),
    "8.8.2": frozenset({IS, GS, OU}),
    "8.11": frozenset({IS, GS, OU}),
    "11.2": DUIS_ROLES,
    "11.1": frozenset({IS, GS}),  # Update Firmware (serviceD): the devices' Supplier
    "11.4": frozenset({IS, GS}),  # Update PPMID Firmware (serviceD)
    "8.1.1": frozenset({IS, GS}),  # Commission Device: ECS70 to an ESME (GCS28: gas, E11 yet)
    "6.11": frozenset({IS, GS}),  # Synchronise Clock: the same ECS70 (GCS28 likewise)
    "12.2": frozenset({IS, GS}),  # Device Pre-Notification (serviceD): the device's Supplier
    # the ESME's configuration, tariff, prepayment and supply reads (esme/store.py), roles
    # as duis-parser's matrix gives them
    "4.1.1": frozenset({IS, GS, ED, GT}),
    "4.1.3": frozenset({IS, ED}),
    "4.3": frozenset({IS, GS}),
    "4.11.2": frozenset({IS, OU}),
    "4.13": frozenset({IS, GS}),
    "4.15": frozenset({IS, ED}),
    "6.2.1": frozenset({IS, RSA, ED}),
    "6.2.2": frozenset({IS, RSA, ED}),
    "6.2.3": frozenset({IS, RSA, GS}),
    "6.2.4": DUIS_ROLES,
    "6.2.5": frozenset({IS, RSA}),
    "6.2.7": DUIS_ROLES,
    "6.2.9": frozenset({IS, GS, RSA}),
    "7.4": frozenset({IS, ES, GS, RSA, ED, GT}),
    # the ESME's configuration writes of one attribute
    "3.2": frozenset({IS, GS}),
    "3.5": frozenset({IS, GS}),
    "6.12": frozenset({IS}),
    "6.20.1": frozenset({IS, GS}),
    "6.25": frozenset({IS}),
    "6.26": frozenset({IS}),
    "6.8": frozenset({IS, GS}),  # the billing calendar (ESME or GSME)
    "6.5": frozenset({ED}),  # the ESME's voltage configuration
    "6.6": frozenset({GS}),  # the GSME's conversion factor and calorific value
    "6.7": frozenset({GS}),  # the GSME's uncontrolled gas flow rate and supply states
    "11.3": frozenset({IS}),  # activate firmware on the ESME
    "6.4.1": frozenset({IS}),  # the ESME's load limit general settings
    "1.2.1": frozenset({IS, GS}),  # Update Price (Primary Element): either fuel's Supplier
    "1.1.1": frozenset({IS, GS}),  # Update Import Tariff (Primary Element): GCS01a built yet
    "8.9": frozenset({IS, GS, OU}),  # the Comms Hub Function's device log
    "7.1": frozenset({IS}),  # the ESME's load switch
    "7.2": frozenset({IS, GS}),
    "7.3": frozenset({IS, GS}),
    "7.12": frozenset({IS}),
    "2.3": frozenset({IS, GS}),  # Update Debt (prepayment: the supplier of either fuel)
    "2.5": frozenset({IS, GS}),  # Activate Emergency Credit
    "1.5": frozenset({IS, GS}),  # Update Meter Balance
    "2.2": frozenset({IS, GS}),  # Top Up Device (a UTRN)
    "1.6": frozenset({IS, GS}),  # Update Payment Mode
    "1.7": frozenset({IS}),  # Reset Tariff Block Counter Matrix (the ESME's ECS05)
    "2.1": frozenset({IS, GS}),  # Update Prepay Configuration
    "3.1": frozenset({IS, GS}),
    "3.3": frozenset({IS, GS}),
    "3.4": frozenset({IS, GS}),
    "6.4.2": frozenset({IS}),
    "6.18.2": frozenset({ED}),
    "6.27": frozenset({ED}),
    "6.13": frozenset({IS, GS, ED, GT, RSA}),
    "4.4.4": frozenset({IS, GS}),
    "4.4.5": frozenset({IS, GS}),
    "4.8.2": frozenset({IS, ED, OU}),
    "4.8.3": frozenset({ES, ED, OU}),
    "4.4.2": frozenset({IS, GS}),
    "4.4.3": frozenset({IS, GS}),
    "4.6.1": frozenset({IS, GS}),
    "4.14": frozenset({IS, GS}),
    "4.8.1": frozenset({IS, GS, ED, GT, OU}),
    "4.10": frozenset({IS, GS, ED, GT}),
    "4.18": frozenset({IS, GS}),  # the gas meter's (devices/gsme/)
    "6.2.8": frozenset({GS, RSA, GT}),
    "6.15.1": frozenset({IS, GS, ED, GT}),  # Update Security Credentials: each its own (CS02b/g)
    "6.24.1": frozenset({IS, GS, ED, GT}),  # Retrieve Device Security Credentials (CS02a/f)
    "6.24.2": frozenset({IS, GS}),  # the device's own certificate (CS02e)
    "6.17": frozenset({IS, GS}),  # Issue Security Credentials: a new key pair (CS02c)
    "6.15.2": frozenset({IS, GS}),  # Update Security Credentials (Device): its certificate
    "6.23": frozenset({IS, GS}),  # Update Security Credentials (CoS): the TransCoS party signs
    "6.21": frozenset({IS, GS}),  # Request Handover of DCC Controlled Device (handover.py)
    # Service Opt-out, the ACB's key agreement cell (CS02bACBByACB): the Supplier's (duis-
    # parser's matrix names no role for it, its On Demand being "No": always future-dated)
    "8.5": frozenset({IS, GS}),
    # the DSP's own lifecycle services (serviceD, nondevice.py), roles as duis-parser's matrix
    "8.3": frozenset({IS, GS}),  # Decommission Device
    "8.4": DUIS_ROLES,  # Update Inventory
    "8.13": frozenset({IS, GS}),  # Return Local Command Response
    "8.14.1": frozenset({IS, GS}),  # Communications Hub Status Update: install success
    "8.14.2": frozenset({IS, GS}),  # ... install, no SM WAN
    "8.14.3": frozenset({IS, GS}),  # ... fault return
    "8.14.4": frozenset({IS, GS}),  # ... no fault return
    "12.1": DUIS_ROLES,  # Request WAN Matrix
    # the dual-band Comms Hub's sub GHz radio (devices/hub_function.py)
    "6.28": frozenset({IS, GS}),  # Set CHF Sub GHz Configuration
    "6.29": frozenset({IS, GS}),  # Request CHF Sub GHz Channel Scan
    "6.30": frozenset({IS, GS, RSA}),  # Read CHF Sub GHz Configuration
    "6.31": frozenset({IS, GS, RSA}),  # Read CHF Sub GHz Channel
    "6.32": frozenset({IS, GS, RSA}),  # Read CHF Sub GHz Channel Log
    # the DSP's schedules (schedules.py): every role but the Registered Supplier Agent
    "5.1": frozenset({IS, ES, GS, ED, GT, OU}),  # Create Schedule
    "5.2": frozenset({IS, ES, GS, ED, GT, OU}),  # Read Schedule
    "5.3": frozenset({IS, ES, GS, ED, GT, OU}),  # Delete Schedule
    "8.12.1": frozenset({IS, GS}),  # Restore HAN Device Log (CCS03, a replaced Comms Hub's)
    "8.12.2": frozenset({IS, GS}),  # Restore GPF Device Log (GCS59, a replaced GPF's)
    # the ESME's tariff and register reads (esme/store.py, protected.py)
    "4.11.1": frozenset({IS, GS, OU}),  # Read Tariff (Primary Element)
    "4.1.2": frozenset({IS, GS, ED, GT}),  # Read Instantaneous Import TOU Matrices
    "4.1.4": frozenset({GS}),  # Read Instantaneous Import Block Counters (the GSME's GCS13b)
    "14.1": frozenset({GT}),  # Record Network Data (Gas): the GSME's GCS31, through the ACB
    "4.2": frozenset({ES, ED}),  # Read Instantaneous Export Registers
    "4.16": frozenset({IS, ED}),  # Read Active Power Import
    "1.1.2": frozenset({IS}),  # Update Import Tariff (Secondary Element): a twin ESME
    "1.2.2": frozenset({IS}),  # Update Price (Secondary Element)
    # the ESME's alert and event behaviours, each party its own (ECS25a.. IS, ECS25b.. ED;
    # GCS20 / GCS20r the gas meter's)
    "6.22": frozenset({IS, GS, ED}),
    "6.2.10": frozenset({IS, GS, ED}),
    # the ESME's maximum demand, balance and consumption reads, roles as duis-parser's matrix
    "4.12.1": frozenset({IS, ED}),  # Read Maximum Demand Import Registers
    "4.12.2": frozenset({ES, ED}),  # Read Maximum Demand Export Registers
    "6.18.1": frozenset({ED}),  # Set Maximum Demand Configurable Time Period
    "4.17": frozenset({IS, GS, ED, GT, OU}),  # Retrieve Daily Consumption Log
    "4.6.2": frozenset({ES}),  # Retrieve Export Daily Read Log
    "6.20.2": frozenset({ES}),  # Set Device Configuration (Export MPAN), through the ACB
    "9.1": frozenset({OU}),  # Request Customer Identification Number, through the ACB
}

SECMP0046_HCALCS = ("7.6", "7.7", "7.8")
SECMP0046_BOOST = ("7.9", "7.10", "7.11")


class NotEligible(EmulatorError, PermissionError):
    """The sender's role may not send this service request variant (DUIS E2)."""

    code = ResponseCode.ROLE_NOT_ELIGIBLE


@dataclass(frozen=True)
class Eligibility:
    """The table with the SECMP0046 switches applied; immutable, so a DSP can hold one."""

    secmp0046_hcalcs: bool = True
    secmp0046_boost: bool = False
    # (SRV variant, role) pairs a DCC adds beyond the table, e.g. ("7.16", IS): a DCC whose
    # Supplier sends 7.16 (the meter then refuses it unless it trusts that Supplier for it)
    extra: tuple[tuple[str, DuisRole], ...] = ()

    def roles(self, srv_variant: str) -> frozenset[DuisRole]:
        """The roles that may send an SRV variant (empty for one gbhan does not serve)."""
        roles = set(BASE_ELIGIBILITY.get(srv_variant, ()))
        if self.secmp0046_hcalcs and srv_variant in SECMP0046_HCALCS:
            roles.add(ED)
        if self.secmp0046_boost and srv_variant in SECMP0046_BOOST:
            roles.add(ED)
        roles.update(role for srv, role in self.extra if srv == srv_variant)
        return frozenset(roles)

    def check(self, srv_variant: str, role: DuisRole) -> None:
        if role not in self.roles(srv_variant):
            served = "" if srv_variant in BASE_ELIGIBILITY else " (not served by gbhan)"
            raise NotEligible(f"role {role.value} may not send SRV {srv_variant}{served}")
