"""Leadloop: the lead warehouse and everything derived from it."""

__version__ = "0.1.0"
