"""Conformance of the HCALCS / PLCS switch firmware, for any DUT the rig can address."""
