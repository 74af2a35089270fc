"""emulator: the ZigBee HAN emulator (meter, Comms Hub, switches, back office, feeder)."""
