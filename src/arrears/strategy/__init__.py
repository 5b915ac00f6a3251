"""Strategies as configuration: who gets which action today, and who is left alone (pure)."""
