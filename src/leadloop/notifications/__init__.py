"""In-app notifications: written by reactions to events, read and marked read by their user."""
