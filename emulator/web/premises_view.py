"""What the premises page shows of each premises: the inventory's devices, and for premises
whose device models run in this process their live state, read the way a person at the
premises would see it (the switch's own output and configuration, the meter's held values,
the Comms Hub's device log).

Premises served by a premises host process (`--households N`) show what that process reports
(`premises_host.view`: the switches, their labels and boost association, the meter's labels,
registers, credit, device log and boost button), as it changes. The Comms Hub's
mains is what the DSP last heard from it: an AD1 Power Outage alert says off, a restoration
alert (8F35 / 8F36) on; nothing heard, on.
"""

from __future__ import annotations

from typing import Any

from emulator.backoffice.inventory import Inventory
from emulator.backoffice.premises_host import meter_registers, switch_views
from emulator.backoffice.remote_premises import HostedPremises
from emulator.devices import Premises

#: DUIS alert codes that say a Comms Hub's mains went off / came back
MAINS_OFF = frozenset({"AD1"})
MAINS_ON = frozenset({"8F35", "8F36"})


def _dashed(eui: bytes) -> str:
    return bytes(eui).hex("-").upper()


def _dashed_switches(switches: list[dict]) -> list[dict]:
    """`premises_host.switch_views`' switches with their EUIs dashed, as the page shows them."""
    return [
        {**s, "eui": None if not s.get("eui") else _dashed(bytes.fromhex(s["eui"]))}
        for s in switches
    ]


async def live_state(premises: Premises, mains: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The live part of one in-process premises (JSON-able)."""
    esme = premises.esme
    switches = _dashed_switches(await switch_views(premises))
    hub_eui = _dashed(premises.hub.eui)
    gas = None
    if premises.gas is not None:
        gsme = premises.gas.gsme
        gas = {
            "gpf": _dashed(premises.gas.eui), "gsme": _dashed(gsme.eui),
            "wake_interval_s": gsme.wake_interval_s, "wakes": gsme.wakes,
            "mirror_refreshes": premises.gas.refreshes,
            "last_wake_s": round(gsme.next_wake() - gsme.wake_interval_s, 3),
        }  # fmt: skip
    return {
        "hub": {
            "eui": hub_eui,
            "mains": mains.get(hub_eui, {"on": True, "since": None, "alert": None}),
            "device_log": [
                {"eui": _dashed(bytes.fromhex(e)), "type": t}
                for e, t in premises.device_ids.items()
            ],  # fmt: skip
        },
        "meter": {
            "eui": _dashed(esme.eui),
            "device_log": [{"eui": _dashed(e), "type": t} for e, t in esme.device_log.items()],
            "registers": meter_registers(esme),
            "boost_available": esme.objects.boost_available,
        },
        "switches": switches,
        "gas": gas,
    }


def hosted_state(port: HostedPremises, mains: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The live part of a premises the premises host runs, from its last report (None before
    the first): as `live_state`, but for the gas devices (the host's households have none)."""
    view = port.view
    if view is None:
        return None
    hub_eui = _dashed(bytes.fromhex(view["hub"]))
    return {
        "hosted": True,
        "hub": {
            "eui": hub_eui,
            "mains": mains.get(hub_eui, {"on": True, "since": None, "alert": None}),
            "device_log": [
                {"eui": _dashed(bytes.fromhex(e)), "type": t} for e, t in port.device_ids.items()
            ],  # fmt: skip
        },
        "meter": {
            "eui": _dashed(bytes.fromhex(view["meter"])),
            "device_log": [
                {"eui": _dashed(bytes.fromhex(e)), "type": t}
                for e, t in view.get("meter_device_log", {}).items()
            ],  # fmt: skip
            "registers": view.get("registers"),
            "boost_available": view.get("boost_available"),
        },
        "switches": _dashed_switches(view.get("switches", [])),
        "gas": None,
    }


def hosted(inventory: Inventory, ports: list[Any]) -> dict[str, HostedPremises]:
    """The premises (by name) of the DSP's ports that a premises host runs."""
    found = {}
    for port in ports:
        if isinstance(port, HostedPremises):
            for eui in port.device_ids:
                device = inventory.devices.get(bytes.fromhex(eui))
                if device is not None:
                    found[device.premises] = port
                    break
    return found


async def snapshot(
    inventory: Inventory,
    live: dict[str, Premises],
    mains: dict[str, dict[str, Any]],
    remote: dict[str, HostedPremises] | None = None,
) -> list[dict[str, Any]]:
    """Every premises of the inventory with its devices, live state where it is in-process
    or reported by the premises host (`remote`)."""
    remote = remote or {}
    out = []
    for name, record in sorted(inventory.premises.items()):
        devices = sorted(
            (d for d in inventory.devices.values() if d.premises == name), key=lambda d: d.eui
        )
        if not devices and name not in live:
            continue
        premises, port = live.get(name), remote.get(name)
        state: dict[str, Any] | None = None
        if premises is not None:
            state = await live_state(premises, mains)
        elif port is not None:
            state = hosted_state(port, mains)
        out.append({
            "name": name,
            "supplier": _dashed(record.supplier),
            "distributor": _dashed(record.electricity_distributor),
            "mpxn": record.mpxn,
            "devices": [{"eui": _dashed(d.eui), "type": d.device_type} for d in devices],
            "live": state,
        })  # fmt: skip
    return out
