"""``chatd simulate``: a discrete-event simulator driving the real Dispatcher on a virtual clock.

- :mod:`chatd.sim.scenario` -- what to run (arrivals, handling, agents and shifts, customer mix);
- :mod:`chatd.sim.engine` -- the event loop calling the Dispatcher as the service does;
- :mod:`chatd.sim.report` -- waits, abandonment, utilisation, fairness, the estimate's error;
- :mod:`chatd.sim.validate` -- the M/M/c check against Erlang C;
- :mod:`chatd.sim.chart` -- the optional PNG; :mod:`chatd.sim.cli` -- the command.
"""

from chatd.sim.engine import SimResult, Simulation, simulate
from chatd.sim.report import summarise
from chatd.sim.scenario import Scenario, scenario_by_name
from chatd.sim.validate import validate_erlang_c

__all__ = [
    "Scenario",
    "SimResult",
    "Simulation",
    "scenario_by_name",
    "simulate",
    "summarise",
    "validate_erlang_c",
]
