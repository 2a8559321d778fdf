"""Where each role lands: a rep on today's work, a manager on the team, marketing on the pipeline."""
