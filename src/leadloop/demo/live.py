"""Hand-raisers arriving while the demo runs: every few minutes a timer posts a new demo request or
"contact sales" (from a new person, or one the warehouse already knows and marketing is nurturing)
through the same capture use case as the public form, so a visitor watches the fast track route it
and a rep's inbox move. Off unless `LEADLOOP_DEMO_HAND_RAISER_MINUTES` is above zero (`leadloop
demo` sets it; `--no-live-hand-raisers` turns it off); each run arms the next.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.forms import FORM_FIELDS, form_activity, map_form
from leadloop.capture.intake import prepare_lead, store_lead
from leadloop.core.events import Event
from leadloop.core.logging import get_logger
from leadloop.demo import names as N
from leadloop.demo.world import _slug
from leadloop.jobs.timers import Due, TimerHandler, pending, schedule
from leadloop.store.tables import Account, Lead, Person

log = get_logger("leadloop.demo")
LIVE_HAND_RAISER = "demo_hand_raiser"
SUBJECT = "demo"

# Titles as people type them in the demo's countries (contract/titles.py reads each of them).
TITLES = {
    "US": ("VP Engineering", "Chief Technology Officer", "Director of Marketing", "Head of IT", "CTO"),
    "GB": ("Head of IT", "VP Sales", "Marketing Director", "Chief Operating Officer"),
    "DE": ("Geschäftsführer", "Leiter Vertrieb", "IT-Leiter", "Leiterin Marketing"),
    "FR": ("Directeur commercial", "Responsable marketing", "Directrice des systèmes d'information"),
    "ES": ("Directora de ventas", "Director de marketing", "Gerente de TI"),
    "IT": ("Direttore commerciale", "Responsabile marketing"),
    "SE": ("VP Engineering", "Försäljningschef", "IT-chef"),
    "NL": ("Hoofd Marketing", "Directeur", "IT Manager"),
}
KINDS = (("demo_request", 3), ("contact_sales", 2), ("pricing_request", 1), ("trial_signup", 1))
PRODUCTS = ("analytics", "automation", "platform")


def new_hand_raiser(rng: random.Random) -> dict[str, str]:
    """The fields a visitor posts on the demo request form: a new person at a new company. Pure."""
    country = rng.choice(sorted(TITLES))
    first, last = rng.choice(N.FIRST), rng.choice(N.LAST)
    core = f"{rng.choice(N.COMPANY_A)} {rng.choice(N.COMPANY_B)}"
    domain = _slug(core) + N.TLD[country]
    return {
        "name": f"{first} {last}",
        "email": f"{_slug(first)}.{_slug(last)}@{domain}",
        "company": f"{core} {rng.choice(N.SUFFIXES[country])}",
        "title": rng.choice(TITLES[country]),
        "country": country,
        "product": rng.choice(PRODUCTS),
        "source": "website",
        "activity_type": _kind(rng),
        "message": rng.choice(("Can we see it with our own data?", "Please call me this week.", "")),
    }


def _kind(rng: random.Random) -> str:
    return rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]


def _known_person(session: Session, rng: random.Random) -> dict[str, str] | None:
    """Someone marketing is nurturing raises a hand: a contact of an account whose lead is with
    marketing (an inquiry, nurtured or recycled)."""
    rows = session.execute(
        sa.select(Person.email, Person.first_name, Person.last_name, Person.title, Lead.product)
        .join(Account, Account.id == Person.account_id)
        .join(Lead, Lead.account_id == Account.id)
        .where(
            Person.email.is_not(None),
            Person.merged_into_id.is_(None),
            Person.excluded_by.is_(None),
            Lead.stage.in_(("inquiry", "nurture", "recycled")),
        )
        .order_by(Person.id)
        .limit(200)
    ).all()
    if not rows:
        return None
    email, first, last, title, product = rng.choice(rows)
    fields = {"email": str(email), "product": product, "source": "website", "activity_type": _kind(rng)}
    fields.update({k: str(v) for k, v in (("first_name", first), ("last_name", last), ("title", title)) if v})
    return fields


def post(session: Session, fields: dict[str, str], *, now: datetime) -> list[Event]:
    """What the form endpoint does with these posted fields, in this transaction."""
    mapped = map_form({k: v for k, v in fields.items() if v}, known=FORM_FIELDS)
    body: dict[str, object] = {**mapped.fields, "attributes": mapped.extras}
    activity = form_activity(mapped.fields.get("activity_type"))
    body["activity_type"] = activity.type
    person, act = prepare_lead(body, now=now, activity_payload=activity.payload)
    _, events = store_lead(session, person, act, now=now, source="form")
    return events


def hand_raiser_job(every: timedelta) -> TimerHandler:
    """The timer: one hand-raiser now, the next `every` later (seeded by its count, so a demo run is
    the same story each time it is told)."""

    def run(session: Session, due: Due, now: datetime) -> list[Event]:
        n = int(due.payload.get("n", 0))
        rng = random.Random(1_000 + n)
        fields = (_known_person(session, rng) if n % 3 == 2 else None) or new_hand_raiser(rng)
        events = post(session, fields, now=now)
        log.info("demo.hand_raiser", email=fields["email"], kind=fields["activity_type"])
        schedule(session, LIVE_HAND_RAISER, SUBJECT, now + every, {"n": n + 1})
        return events

    return run


def arm(session: Session, *, now: datetime) -> None:
    """The first hand-raiser a minute after the demo starts, unless one is pending already."""
    if pending(session, LIVE_HAND_RAISER, SUBJECT) is None:
        schedule(session, LIVE_HAND_RAISER, SUBJECT, now + timedelta(minutes=1), {"n": 0})
