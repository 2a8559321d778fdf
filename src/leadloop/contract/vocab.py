"""The default vocabulary of activity types, and the fields of each entity in the data contract."""

from __future__ import annotations

from leadloop.core.errors import UnknownActivityType

# type -> (default channel, is a hand-raise: the buyer asked for contact)
ACTIVITY_TYPES: dict[str, tuple[str, bool]] = {
    "form_submit": ("web", True),
    "demo_request": ("web", True),
    "contact_request": ("web", True),
    "trial_signup": ("product", True),
    "pricing_page_view": ("web", False),
    "page_view": ("web", False),
    "careers_page_view": ("web", False),
    "content_download": ("web", False),
    "webinar_registered": ("webinar", False),
    "webinar_attended": ("webinar", False),
    "event_attended": ("event", False),
    "email_sent": ("email", False),
    "email_open": ("email", False),
    "email_click": ("email", False),
    # A pixel fetched or a link followed by a machine (a privacy proxy, a link scanner): recorded
    # so a report can count them, never engagement (ADR 0032; MACHINE_TYPES below).
    "email_open_machine": ("email", False),
    "email_click_machine": ("email", False),
    "email_reply": ("email", False),
    "email_bounce_hard": ("email", False),
    "email_bounce_soft": ("email", False),
    # The recipient marked our mail as spam (a provider's feedback loop): never a hand-raise.
    "email_complaint": ("email", False),
    "unsubscribe": ("email", False),
    "resubscribe": ("email", False),
    "call": ("phone", False),
    "meeting": ("meeting", False),
    "chat": ("web", False),
    "ad_click": ("paid", False),
    "social_engagement": ("social", False),
    "product_usage": ("product", False),
    "list_import": ("import", False),
    "record_created": ("api", False),
    "opportunity_created": ("crm", False),
    "opportunity_won": ("crm", False),
    "opportunity_lost": ("crm", False),
    # Hand-raise fast track (issue 13): two more ways a buyer asks to talk.
    "contact_sales": ("web", True),
    "pricing_request": ("web", True),
}

KNOWN_TYPES = sorted(ACTIVITY_TYPES)

# The machine twin of each e-mail signal (ADR 0032): what a privacy proxy or a link scanner did is
# its own type, so every rule keyed by type (scoring weights and caps, hand-raises, segments'
# behaviour, a sequence's "opened" branch) leaves it out without reading a payload.
MACHINE_TYPES: dict[str, str] = {"email_open_machine": "email_open", "email_click_machine": "email_click"}


DIRECTIONS = ("inbound", "outbound")

ENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "external_id",
        "name",
        "domain",
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "state",
        "city",
        "postcode",
        "sic_code",
        "naics_code",
        "sites",
        "parent_external_id",
    ),
    "people": (
        "external_id",
        "account_external_id",
        "email",
        "first_name",
        "last_name",
        "title",
        "seniority",
        "department",
        "phone",
        "company",
        "website",
        "street",
        "country",
        "state",
        "city",
        "postcode",
        "lead_source",
        "campaign",
        "created_at",
        "email_opt_in",
    ),
    "activities": (
        "external_id",
        "person_external_id",
        "email",
        "account_external_id",
        "occurred_at",
        "type",
        "channel",
        "direction",
        "campaign",
        "product",
        "value",
        "url",
    ),
    "opportunities": (
        "external_id",
        "account_external_id",
        "person_external_id",
        "product",
        "created_at",
        "closed_at",
        "stage",
        "outcome",
        "amount",
        "lost_reason",
        # Conversion and outcomes from another CRM (issue 15): Salesforce's IsWon and IsClosed say
        # the outcome where no outcome column does.
        "name",
        "currency",
        "is_won",
        "is_closed",
    ),
    "campaigns": ("external_id", "name", "channel", "cost", "started_at", "ended_at"),
    # A person's role on an opportunity (Salesforce's OpportunityContactRole).
    "contact_roles": ("external_id", "opportunity_external_id", "person_external_id", "role", "is_primary"),
}

# What a people file may carry beyond the person: a peer CRM's owner and stages (onto the lead of
# the person's account) and the account's firmographics. Never columns of the person itself.
CARRIED_FIELDS: dict[str, tuple[str, ...]] = {
    "people": ("owner", "lifecycle_stage", "lead_status", "industry", "employees", "annual_revenue"),
}

# At least one column of each group must be present in a file of that entity.
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (("external_id", "name", "domain"),),
    "people": (("external_id", "email", "phone"),),
    # No time column is needed: a row without a time takes the import's (with a warning).
    "activities": (("type",), ("person_external_id", "email", "account_external_id")),
    "opportunities": (("external_id",), ("account_external_id", "person_external_id")),
    "contact_roles": (("opportunity_external_id",), ("person_external_id",)),
    "campaigns": (("name", "external_id"),),
}


def check_activity_type(value: str) -> str:
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in ACTIVITY_TYPES:
        raise UnknownActivityType(value, KNOWN_TYPES)
    return key


def is_hand_raise(activity_type: str) -> bool:
    return ACTIVITY_TYPES.get(activity_type, ("", False))[1]


def default_channel(activity_type: str) -> str:
    return ACTIVITY_TYPES.get(activity_type, ("other", False))[0]


# Hand-raise fast track and title parsing (issue 13): the seniority and department words the fit
# rules test (scoring/default_model.yaml), which contract/titles.py answers in.
C_LEVEL, VP, DIRECTOR, MANAGER, INDIVIDUAL, INTERN = (
    "C-Level",
    "VP",
    "Director",
    "Manager",
    "Individual Contributor",
    "Intern",
)
SENIORITIES = (C_LEVEL, VP, DIRECTOR, MANAGER, INDIVIDUAL, INTERN)
DEPARTMENTS = (
    "Executive",
    "Marketing",
    "Sales",
    "IT",
    "Engineering",
    "Operations",
    "Finance",
    "HR",
    "Legal",
    "Customer Success",
    "Product",
    "Purchasing",
)
# Activity types a web form may say it is (a hidden `activity_type` field); anything else is kept
# as a plain form submission with the value in its payload. Calls, e-mails, opportunities and
# unsubscribes come through their own doors, never from an anonymous form.
FORM_ACTIVITY_TYPES = frozenset(
    {
        "form_submit",
        "demo_request",
        "contact_request",
        "contact_sales",
        "pricing_request",
        "trial_signup",
        "content_download",
        "webinar_registered",
    }
)
# The types that mean "talk to me" unless a scoring model says otherwise (scoring/document.py).
DEFAULT_HAND_RAISE_TYPES = ("demo_request", "contact_sales", "pricing_request", "trial_signup")


# Website tracking: a page's kind from its path (shell-style patterns, first match wins). The
# scoring model's `url_rules` replace these when it has them.
DEFAULT_URL_RULES: tuple[tuple[str, str], ...] = (
    ("/pricing*", "pricing_page_view"),
    ("*/pricing*", "pricing_page_view"),
    ("/preise*", "pricing_page_view"),
    ("/tarifs*", "pricing_page_view"),
    ("/careers*", "careers_page_view"),
    ("/jobs*", "careers_page_view"),
    ("/karriere*", "careers_page_view"),
)
