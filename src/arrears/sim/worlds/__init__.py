"""The shipped simulation worlds (INTERFACE.md, "Simulation worlds"; docs/simulation.md, "The worlds")."""

from arrears.sim.worlds.cn import OnlineLendingCN
from arrears.sim.worlds.us import ConsumerUS

__all__ = ["ConsumerUS", "OnlineLendingCN"]
