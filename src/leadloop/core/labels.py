"""Words for people in place of the codes the data keeps ("no_budget" → "No budget").

One place, one Jinja filter: `{{ lead.stage | label }}`, or `{{ code | label('reason') }}` where a code
means different things in two vocabularies. A code with no entry (a reject reason an admin wrote into
the routing rules, a custom source) is still shown as words: underscores become spaces and the first
letter is capitalised. A unit test holds every lifecycle stage, trigger, default reject reason and
activity type to an entry here, so a new code cannot reach a page as a raw word unnoticed.
"""

from __future__ import annotations

STAGES: dict[str, str] = {
    "inquiry": "Inquiry",
    "mql": "Marketing qualified (MQL)",
    "handed_over": "Handed over by a BDR",
    "sal": "Sales accepted (SAL)",
    "sql": "Sales qualified (SQL)",
    "opportunity": "Opportunity",
    "won": "Won",
    "lost": "Lost",
    "nurture": "Nurture",
    "recycled": "Recycled",
    "merged": "Merged",
}

# What moved a lead (lifecycle triggers) and why routing gave it an owner (decision reasons).
TRIGGERS: dict[str, str] = {
    "opened": "Opened",
    "reached_mql": "Reached MQL",
    "cooled": "Cooled off",
    "routed": "Routed",
    "accepted": "Accepted by sales",
    "rejected": "Rejected by sales",
    "touched": "First touch",
    "qualified": "Qualified by sales",
    "converted": "Opportunity opened",
    "won": "Won",
    "lost": "Lost",
    "merged": "Merged",
    "unmerged": "Merge undone",
    "recycled": "Recycled",
    "reactivated": "Reactivated",
    "imported": "Carried over from an import",
    "handed_over": "Handed over by a BDR",
    "sent_to_nurture": "Sent back to nurture",
    "disqualified": "Disqualified",
    # routing decision reasons
    "mql": "Became an MQL",
    "manual": "Assigned by hand",
    "rep_removed": "Rep left",
    "sla_escalated": "SLA escalated",
    "sla_reassign": "Reassigned after SLA breach",
}

REJECT_REASONS: dict[str, str] = {
    "not_a_fit": "Not a fit",
    "no_budget": "No budget",
    "bad_contact_data": "Bad contact data",
    "duplicate": "Duplicate",
    "competitor": "Competitor",
    "student": "Student",
    "already_customer": "Already a customer",
    "no_response": "No response",
}

ACTIVITY_TYPES: dict[str, str] = {
    "form_submit": "Form submitted",
    "demo_request": "Demo request",
    "contact_sales": "Contact sales",
    "pricing_request": "Pricing request",
    "contact_request": "Contact request",
    "trial_signup": "Trial sign-up",
    "pricing_page_view": "Pricing page view",
    "page_view": "Page view",
    "careers_page_view": "Careers page view",
    "content_download": "Content download",
    "webinar_registered": "Webinar registration",
    "webinar_attended": "Webinar attended",
    "event_attended": "Event attended",
    "email_sent": "E-mail sent",
    "email_open": "E-mail opened",
    "email_click": "E-mail link clicked",
    "email_open_machine": "E-mail fetched by a machine (not scored)",
    "email_click_machine": "E-mail link followed by a scanner (not scored)",
    "email_reply": "E-mail reply",
    "email_bounce_hard": "E-mail bounced (permanent)",
    "email_bounce_soft": "E-mail bounced (temporary)",
    "email_complaint": "Marked our e-mail as spam",
    "unsubscribe": "Unsubscribed",
    "resubscribe": "Subscribed again",
    "call": "Call",
    "meeting": "Meeting",
    "chat": "Chat",
    "ad_click": "Ad click",
    "social_engagement": "Social engagement",
    "product_usage": "Product usage",
    "list_import": "List import",
    "record_created": "Record created",
    "opportunity_created": "Opportunity created",
    "opportunity_won": "Opportunity won",
    "opportunity_lost": "Opportunity lost",
}

# Where a record or an activity came from, and the channel of an activity.
SOURCES: dict[str, str] = {
    "api": "API",
    "demo": "Demo data",
    "form": "Web form",
    "web": "Website",
    "import": "Import",
    "partner": "Partner",
    "crm": "CRM",
    "product": "Product",
    "webinar": "Webinar",
    "event": "Event",
    "email": "E-mail",
    "phone": "Phone",
    "meeting": "Meeting",
    "paid": "Paid media",
    "social": "Social media",
    "(none)": "No source",
}

ROLES: dict[str, str] = {
    "admin": "Admin",
    "marketing": "Marketing",
    "manager": "Sales manager",
    "rep": "Sales rep",
    "bdr": "Business development (BDR)",
    "partner": "Partner",
}

# How two records became one (a merge's method).
MERGE_METHODS: dict[str, str] = {
    "auto": "matched automatically",
    "manual": "merged by hand",
    "review": "merged after review",
    "warehouse": "warehouse dedupe",
}

# The security audit log's events (auth/audit.py).
AUDIT_EVENTS: dict[str, str] = {
    "login": "Signed in",
    "login.failed": "Sign-in failed",
    "login.limited": "Sign-in refused: too many tries",
    "logout": "Signed out",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "leads.reassigned": "Leads reassigned",
    "user.created": "User created",
    "user.team_changed": "Team changed",
    "user.manager_changed": "Manager changed",
    "user.calendar_changed": "Working hours changed",
    "user.away_added": "Out of office added",
    "user.away_removed": "Out of office removed",
    "team.created": "Team created",
    "user.role_changed": "Role changed",
    "user.password_reset": "Password reset by an admin",
    "user.password_changed": "Password changed",
    "user.deactivated": "User deactivated",
    "export": "Data exported",
    # Consent and GDPR (issue 14)
    "person.exported": "Person's data exported",
    "person.erased": "Person erased",
    "suppression.added": "Address suppressed",
    "suppression.removed": "Suppression removed",
    "consent.recorded": "Consent recorded by staff",
}

# Everything else a page shows as a code: owners, document, deal and review statuses, e-mail kinds.
OTHER: dict[str, str] = {
    "user": "User",
    "pool": "Pool",
    "queue": "Queue",
    "draft": "Draft",
    "active": "Active",
    "retired": "Retired",
    "pending": "Pending",
    "approved": "Approved",
    "expired": "Expired",
    "contacted": "Contacted",
    "corporate": "Corporate",
    "free": "Free mail",
    "disposable": "Disposable",
    "review": "Review",
    "warehouse": "Warehouse dedupe",
    "distinct": "Not the same",
    "open": "Open",
    "breached": "SLA breached",
    "overdue": "Overdue",
    # Consent (issue 14): statuses, legal bases and where a change came from.
    "granted": "Consented",
    "withdrawn": "Withdrawn",
    "cleared": "No statement",
    "no record": "No record",
    "consent": "Consent",
    "implied": "Implied (after an inquiry)",
    "legitimate_interest": "Legitimate interest",
    "preferences": "Preference centre",
    "double_opt_in": "Confirmed from our e-mail",
    "erasure": "Erased at their request",
    "expiry": "Ran out",
    "inquiry": "Inquiry",
    "complaint": "Marked our e-mail as spam",
    "bounce": "Hard bounce",
    "staff": "Recorded by staff",
    "migration": "Before the consent log",
    "unmerge": "Merge undone",
}

# Looked up in this order when no vocabulary is named: a stage wins over a trigger of the same code.
VOCABULARIES: dict[str, dict[str, str]] = {
    "stage": STAGES,
    "trigger": TRIGGERS,
    "reason": REJECT_REASONS,
    "activity": ACTIVITY_TYPES,
    "source": SOURCES,
    "role": ROLES,
    "merge": MERGE_METHODS,
    "audit": AUDIT_EVENTS,
    "other": OTHER,
}


def humanise(code: str) -> str:
    """A code no vocabulary knows, as words: "timing_not_right" → "Timing not right"."""
    words = code.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def label(code: object, vocabulary: str | None = None) -> str:
    """The words for `code`; in `vocabulary` ("stage", "trigger", "reason", "activity", "source",
    "role", "merge", "audit", "other") when the same code means different things in two of them. None is empty."""
    if code is None:
        return ""
    text = str(getattr(code, "value", code))
    if vocabulary is not None:
        found = VOCABULARIES[vocabulary].get(text)
        return found if found is not None else humanise(text)
    for words in VOCABULARIES.values():
        if text in words:
            return words[text]
    return humanise(text)


def percent(p: float | None) -> str:
    """A probability as a person reads it: "42%", and below 1% with a decimal ("0.2%"), so that a
    small chance never reads as none."""
    if p is None:
        return "—"
    v = 100 * p
    return f"{v:.1f}%" if 0 < v < 1 else f"{v:.0f}%"


def minutes(m: float | None) -> str:
    """A span of minutes as a person reads it: "12 min", "3.5 h", "4.2 days" (a median of 209,585
    minutes is 146 days)."""
    if m is None:
        return "—"
    if m < 90:
        return f"{m:.0f} min" if m >= 10 else f"{m:.1f} min"
    if m < 48 * 60:
        return f"{m / 60:.1f} h"
    return f"{m / 1440:.1f} days" if m < 14 * 1440 else f"{m / 1440:,.0f} days"
