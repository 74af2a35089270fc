"""The outage-alert rules and the targets they are judged against, named as the Comms Hub
firmware names them (`firmware/commshub/gbcs_alert.py`, `firmware/commshub/outage.py`).

Sources: seed 003 (SECAS DP096 report, its Annex A 'DNO requirements', SEC H3.14(g)).
"""

from __future__ import annotations

# An interruption shorter than 3 minutes is not a reportable outage: no Power Outage Alert
# (AD1). At 3 minutes or more there is one; every restoration raises a Power Restoration Alert
# (8F35, or 8F36 when the outage lasted 3 minutes or more). Same name as the firmware's.
OUTAGE_REPORTABLE_S = 180

# SEC H3.14(g): the POA within 60 s after the initial 3 minutes; the PRA within 60 s.
SEC_POA_S = OUTAGE_REPORTABLE_S + 60  # from the outage start
SEC_PRA_S = 60  # from restoration
# DNO requirements (ENA, 7 Oct 2019): POA within 5 minutes of the outage start, PRA within
# 1 minute of restoration, 99.5 % of POAs delivered.
DNO_POA_S = 300
DNO_PRA_S = 60
DNO_DELIVERED = 0.995
# The SEC states no delivered share; we judge its deadlines at the DNOs' 99.5 % as well.
SEC_DELIVERED = DNO_DELIVERED

PERCENTILES = (50, 80, 95, 99)
