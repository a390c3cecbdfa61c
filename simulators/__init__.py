"""Local, vendor-faithful simulators of Sitoo and Sage 200, fault injection and seeded
scenarios with their expected exceptions (docs/simulators.md).

Simulators hold state in memory only; they must never talk to a real vendor.
"""

from simulators.faults import Faults
from simulators.sage200 import Sage200Credentials, Sage200State
from simulators.scenario import Scenario, build_scenario
from simulators.serve import SimulatorError, run_simulator, serve_in_thread
from simulators.sitoo import SitooCredentials, SitooState

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
