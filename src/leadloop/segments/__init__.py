"""Segments: saved filters over people, kept up to date by events (issue 14, item 1)."""
