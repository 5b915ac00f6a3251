"""The compliance engine: every proposed action checked against the effective policy packs.

``engine.evaluate`` takes a frame of proposed actions and the facts about the people they reach
(``world.World``) and returns each action's decision, blocking rule ids, explanation and allowed
window. A single action is a one-row frame through the same code. See ../README.md.
"""
