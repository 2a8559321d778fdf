"""Editing people and accounts by hand: validated like a capture, recorded with who and when, and
pinned so that a later import or merge does not undo it (ADR 0021)."""
