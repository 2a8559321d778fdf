"""Capture: every door (API, form, import, demo) lands records through these use cases, inside the
caller's unit of work, and publishes what happened to the reactions wired in `leadloop.bootstrap`."""

from leadloop.capture.activities import ingest_activities
from leadloop.capture.crm import upsert_accounts, upsert_campaigns, upsert_contact_roles, upsert_opportunities
from leadloop.capture.people import ingest_people
from leadloop.capture.results import REFUSED, Outcome, Result

__all__ = [
    "REFUSED",
    "Outcome",
    "Result",
    "ingest_activities",
    "ingest_people",
    "upsert_accounts",
    "upsert_campaigns",
    "upsert_contact_roles",
    "upsert_opportunities",
]
