"""The user guides: short pages per role in docs/guide, shown in the app under Help."""
