"""Imports: files in, checked as a whole, then written in one transaction (or not at all)."""
