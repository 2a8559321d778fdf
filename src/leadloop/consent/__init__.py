"""Consent (issue 14, item 4): subscription types, a legal basis per person and type, the log of
every change, double opt-in, implied consent that expires, the suppression list, one-click
unsubscribe and the preference centre. Senders call `consent.gate` (may_send, unsubscribe_headers)."""
