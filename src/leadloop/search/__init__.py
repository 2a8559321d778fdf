"""Global search over people, accounts and leads: accent- and case-insensitive, within one's scope."""
