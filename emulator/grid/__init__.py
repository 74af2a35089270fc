"""The feeder: households and EV chargers on one LV feeder, the DNO's overload monitor, and the
DCP 371 governance (consent, last-resort guard, intervention reports) around it.

The physics (loads, charging, the feeder sum, the forecast) is vectorised with numpy so a
250-premises evening runs in seconds; only the DNO's service requests take the heavy path
through the back office and the HAN (``SrvGateway``).
"""
