"""The admin pages: users, teams, calendars and out-of-office, API keys. An entry point like the
CLI: it calls the use cases of auth and routing (the same ones `leadloop users|apikeys` calls) and
records every action in the audit log."""
