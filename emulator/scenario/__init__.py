"""Scenarios: TOML files describing a feeder evening, and the runner behind `gbhan emulate`."""
