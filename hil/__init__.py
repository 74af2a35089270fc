"""hil: the hardware-in-the-loop rig (serial transports, power control, pytest plugin)."""
