"""Words for people in place of stored codes, on the lists, home and search (a filter `label`)."""

from __future__ import annotations

LABELS = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "Accepted (SAL)",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
    "lost": "Lost",
    "nurture": "Nurture",
    "recycled": "Recycled",
    "rejected": "Rejected",
    "merged": "Merged",
    "bdr": "With a BDR",
    "paid_search": "Paid search",
    "paid_social": "Paid social",
    "paid_review": "Review sites",
    "webinar": "Webinar",
    "event": "Event",
    "email": "E-mail",
    "content": "Content",
    "partner": "Partner",
    "organic": "Organic",
    "engagement": "Engagement",
    "form": "Web form",
    "import": "Import",
    "api": "API",
    "demo": "Demo",
    "planned": "Planned",
    "active": "Active",
    "ended": "Ended",
}


def label(code: object) -> str:
    """The person's word for a code; an unknown code reads as words ("no_budget" -> "No budget")."""
    if code is None or code == "":
        return "—"
    text = str(code)
    return LABELS.get(text) or text.replace("_", " ").capitalize()
