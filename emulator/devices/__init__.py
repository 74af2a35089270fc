"""The emulated household devices: ESME, Comms Hub model, switches (model or real firmware).

`premises.Premises` puts them together on a shared clock and HAN medium; see docs/devices.md.
"""
