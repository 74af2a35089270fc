"""Conformance of the HCALCS / PLCS switch firmware, for any DUT the rig can address.

`steps` holds the frames and steps the tests share; the `test_*` modules are the suite.
"""

from . import steps

__all__ = ["steps"]
