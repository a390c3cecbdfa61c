"""Local, vendor-faithful simulators of Sitoo and Sage 200, fault injection and seeded
scenarios with their expected exceptions (docs/simulators.md).

Simulators hold state in memory only; they must never talk to a real vendor.
"""

from recon.simulators.faults import Faults
from recon.simulators.sage200 import Sage200Credentials, Sage200State
from recon.simulators.scenario import Scenario, build_scenario
from recon.simulators.serve import SimulatorError, run_simulator, serve_in_thread
from recon.simulators.sitoo import SitooCredentials, SitooState

__all__ = [
    "Faults",
    "Sage200Credentials",
    "Sage200State",
    "Scenario",
    "SimulatorError",
    "SitooCredentials",
    "SitooState",
    "build_scenario",
    "run_simulator",
    "serve_in_thread",
]
