"""Closed-loop simulation: worlds standing in for borrowers, and the re-check of what they did."""
