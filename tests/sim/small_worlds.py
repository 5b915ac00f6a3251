"""The shipped worlds at a size a test can afford (``--world tests/sim/small_worlds.py:SmallCN``)."""

from arrears.sim.worlds import ConsumerUS, OnlineLendingCN


class SmallCN(OnlineLendingCN):
    loans = 1_500


class SmallUS(ConsumerUS):
    loans = 1_500
