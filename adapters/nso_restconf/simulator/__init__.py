"""An NSO RESTCONF simulator: devices, a pluggable service model, dry-runs, faults.

async with run_simulator() as sim:   # the shipped demo devices, a free port
    ... NsoConfig(url=sim.url, username="admin", password="admin") ...
"""

from adapters.nso_restconf.simulator.faults import Faults
from adapters.nso_restconf.simulator.server import SimulatorServer, build_state, run_simulator
from adapters.nso_restconf.simulator.services import L2VlanService, ServiceModel
from adapters.nso_restconf.simulator.state import DEMO_DATA, SimState

__all__ = [
    "DEMO_DATA",
    "Faults",
    "L2VlanService",
    "ServiceModel",
    "SimState",
    "SimulatorServer",
    "build_state",
    "run_simulator",
]
