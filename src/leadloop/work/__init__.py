"""The rep's workbench: contacts and "why now", touches with an outcome, notes, tasks and follow-ups."""
