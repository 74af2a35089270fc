"""The feeder: households and EV chargers on one LV feeder, the DNO's overload monitor and
its DUIS client, and the DCP 371 governance (consent, last-resort guard, intervention
reports) around it.

The physics (loads, charging, the feeder sum, the forecast) is vectorised with numpy so a
250-premises evening runs in seconds; only the DNO's service requests take the heavy path
through the back office and the HAN (``SrvGateway``, ``DnoClient``). What the grid is run
against is built elsewhere (``emulator.scenario.world``).
"""

from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.dno_client import SRV_UNJOIN, DnoClient
from emulator.grid.forecast import Forecast, TrendForecaster
from emulator.grid.gateway import (
    ALERT_ALCS_CONFIGURATION_CHANGE,
    SRV_ACTIVATE,
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    SWITCHING_SRVS,
    GatewayAlert,
    SrvGateway,
    SrvOutcome,
    SrvResult,
    SwitchLabel,
)
from emulator.grid.governance import (
    Emergency,
    GovernanceError,
    GuardedGateway,
    GuardRefusal,
    LastResortGuard,
    RecordingGateway,
)
from emulator.grid.interventions import Intervention, InterventionLog, SrvRecord
from emulator.grid.loads import FeederPhysics, FeederSample
from emulator.grid.monitor import DnoMonitor, MonitorParams
from emulator.grid.plant import FeederHan, SwitchingSeen
from emulator.grid.population import (
    EV_LABEL,
    EvParams,
    HouseholdParams,
    Population,
    PopulationError,
    PremisesPlan,
    SwitchPlan,
    generate,
)
from emulator.grid.report import RunRecord, write_outputs

__all__ = [
    "ALERT_ALCS_CONFIGURATION_CHANGE",
    "EV_LABEL",
    "SRV_ACTIVATE",
    "SRV_ADD_BOOST",
    "SRV_CURTAIL",
    "SRV_READ_LABELS",
    "SRV_REMOVE_BOOST",
    "SRV_RESTORE",
    "SRV_UNJOIN",
    "SWITCHING_SRVS",
    "Consent",
    "ConsentRegister",
    "DnoClient",
    "DnoMonitor",
    "Emergency",
    "EvParams",
    "FeederHan",
    "FeederPhysics",
    "FeederSample",
    "Forecast",
    "GatewayAlert",
    "GovernanceError",
    "GuardRefusal",
    "GuardedGateway",
    "HouseholdParams",
    "Intervention",
    "InterventionLog",
    "LastResortGuard",
    "MonitorParams",
    "Population",
    "PopulationError",
    "PremisesPlan",
    "RecordingGateway",
    "RunRecord",
    "SrvGateway",
    "SrvOutcome",
    "SrvRecord",
    "SrvResult",
    "SwitchLabel",
    "SwitchPlan",
    "SwitchingSeen",
    "TrendForecaster",
    "generate",
    "write_outputs",
]
