"""Capturing people: every door (API, form, import, demo, an activity about an unknown e-mail)
lands people here, inside the caller's unit of work (one transaction per batch).

Load what the rules in `model.py` need, let them decide, write, then ask identity who is who:
new people are matched at once (ADR 0009), which is why capture calls identity directly rather
than through a reaction: the person id this returns may be the survivor of a merge.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.log import append_activities
from leadloop.capture.model import (
    MATCHED_ON,
    PERSON_COLUMNS,
    ActivityIn,
    PersonIn,
    fold_batch,
    from_title,
    person_changes,
)
from leadloop.capture.repository import AccountHint, ensure_accounts, ensure_campaigns, people_by_keys
from leadloop.capture.results import REFUSED, Outcome, Result
from leadloop.core.events import ConsentStated, PeopleCaptured
from leadloop.core.reactions import publish
from leadloop.enrich.repository import manual_values
from leadloop.identity.resolve import people_by_email_key, resolve
from leadloop.store.bulk import RaceLost, insert_created, select_in
from leadloop.store.tables import Person

# Records no door may store again: people erased at their request (privacy/, ADR 0027). The check
# is wired into every session by the bootstrap, so capture knows the question, not who answers it.
# It returns, for the items refused, why (index -> a sentence).
REFUSE_KEY = "capture.refuse"
Refuse = Callable[[Session, list[PersonIn]], dict[int, str]]


def refused(session: Session, items: list[PersonIn]) -> dict[int, str]:
    check: Refuse | None = session.info.get(REFUSE_KEY)
    return check(session, items) if check and items else {}


def ingest_people(
    session: Session,
    items: list[PersonIn],
    *,
    now: datetime,
    source: str,
    activities: list[ActivityIn | None] | None = None,
    explicit_consent: bool = False,
) -> Result:
    """Create or update people (matched by external_id, then e-mail, then phone), link each to its
    account, and append the activity that recorded the capture (`activities[i]` for `items[i]`).
    An item the refusal check turns away (an erased person) is `refused`, with why, and not stored."""
    no = refused(session, items)
    if not no:
        return _ingest(
            session, items, now=now, source=source, activities=activities, explicit=explicit_consent
        )
    keep = [i for i in range(len(items)) if i not in no]
    done = _ingest(
        session,
        [items[i] for i in keep],
        now=now,
        source=source,
        activities=[activities[i] for i in keep] if activities is not None else None,
        explicit=explicit_consent,
    )
    stored = iter(done.outcomes)
    done.outcomes = [Outcome(REFUSED, why=no[i]) if i in no else next(stored) for i in range(len(items))]
    return done


def _ingest(
    session: Session,
    items: list[PersonIn],
    *,
    now: datetime,
    source: str,
    activities: list[ActivityIn | None] | None,
    explicit: bool,
) -> Result:
    result = Result()
    if not items:
        return result
    folded = fold_batch(items)
    merged = folded.people
    by_ext, by_email, by_phone = people_by_keys(
        session,
        {p.external_id for p in merged if p.external_id},
        {p.email for p in merged if p.email},
        {p.phone for p in merged if p.phone and not (p.external_id or p.email)},
    )
    hints: dict[AccountHint, str | None] = {}
    for p in merged:
        hint = p.account_hint()
        if hint:
            hints.setdefault(hint, p.company or (p.email_domain if hint[0] == "domain" else None))
    fuzzy: dict[str, str] = {}
    account_ids = ensure_accounts(session, hints, now=now, fuzzy=fuzzy)
    campaign_ids = ensure_campaigns(session, {p.campaign for p in merged if p.campaign}, now=now)

    # An address that differs only in Gmail dots or a plus tag names the same person (policy).
    by_email_key = people_by_email_key(
        session,
        {
            p.email
            for p in merged
            if p.email and p.email not in by_email and not by_ext.get(p.external_id or "")
        },
    )
    existing_ids: list[int | None] = []
    for p in merged:
        pid = (by_ext.get(p.external_id) if p.external_id else None) or (
            by_email.get(p.email) if p.email else None
        )
        if pid is None and p.email:
            pid = by_email_key.get(p.email)
        if pid is None and p.phone and not (p.external_id or p.email):
            pid = by_phone.get(p.phone)
        existing_ids.append(pid)
    current = {
        row.id: row._asdict()
        for row in select_in(
            session, (Person.__table__,), Person.id, [i for i in existing_ids if i is not None]
        )
    }

    # A value set by hand (on the person, or on someone merged into them) is not replaced (ADR 0021).
    pinned = {
        pid: frozenset(f for f, held in values.items() if current[pid].get(f) in held)
        for pid, values in manual_values(session, set(current)).items()
    }
    new_rows: list[dict[str, Any]] = []
    new_slots: list[int] = []
    updates: list[dict[str, Any]] = []
    statuses: list[str] = []
    person_ids: list[int | None] = []
    accounts_of: list[int | None] = []
    for slot, (p, pid) in enumerate(zip(merged, existing_ids, strict=True)):
        hint = p.account_hint()
        account_id = account_ids.get(hint) if hint else None
        campaign_id = campaign_ids.get(p.campaign) if p.campaign else None
        why = _account_match(p, hint, fuzzy) if account_id is not None and hint else None
        if pid is None:
            values = {c: getattr(p, c) for c in PERSON_COLUMNS}
            values.update(from_title(p))
            new_rows.append(
                {
                    **values,
                    "account_match": why,
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "email_opt_in": None,  # consent/ writes it, from the consent it records (below)
                    "attributes": p.attributes,
                    "created_at": p.created_at or now,
                    "updated_at": now,
                }
            )
            new_slots.append(slot)
            statuses.append("created")
            person_ids.append(None)
            accounts_of.append(account_id)
            continue
        row = current[pid]
        change = person_changes(
            row,
            p,
            same_address=by_email_key.get(p.email or "") == pid or by_email.get(p.email or "") == pid,
            address_taken=p.email in by_email and by_email[p.email] != pid,
            account_id=account_id,
            account_hint_given=hint is not None,
            external_id_held=bool(p.external_id) and p.external_id in by_ext,
            account_why=why,
            campaign_id=campaign_id,
            pinned=pinned.get(pid, frozenset()),
        )
        if change:
            change["updated_at"] = now
            updates.append({"id": pid, **change})
        statuses.append("updated" if change else "unchanged")
        person_ids.append(pid)
        accounts_of.append(change.get("account_id", row["account_id"]))

    if new_rows:
        for slot, pid in zip(new_slots, _insert_people(session, new_rows), strict=True):
            person_ids[slot] = pid
    for change in updates:
        session.execute(sa.update(Person).where(Person.id == change["id"]).values(**change))
    changed_keys = [u["id"] for u in updates if MATCHED_ON.intersection(u)]

    # What each person said about marketing e-mail goes to consent/, the one writer of consent and of
    # `email_opt_in` (ADR 0027), which applies its rules (an opt-out sticks, ADR 0004).
    stated = tuple(
        (pid, p.email_opt_in)
        for p, pid in zip(merged, person_ids, strict=True)
        if pid is not None and p.email_opt_in is not None
    )
    if stated:
        result.events.extend(publish(session, [ConsentStated(stated, explicit, source, now)], now=now))
    act_slots = [i for i, act in enumerate(activities or []) if act is not None]
    acts = [a for a in (activities or []) if a is not None]
    slot_of = folded.slot_of
    act_result = append_activities(
        session,
        acts,
        [(person_ids[slot_of[i]], accounts_of[slot_of[i]]) for i in act_slots],
        now=now,
        source=source,
    )
    # Segments decide again about everyone whose record this capture created or changed, with an
    # activity or without one (an import that corrects a title, a re-sent form with a new country).
    touched = frozenset(
        pid
        for pid, status in zip(person_ids, statuses, strict=True)
        if pid is not None and status != "unchanged"
    )
    announced = [*act_result.events, PeopleCaptured(touched, now)] if touched else act_result.events
    result.events.extend(publish(session, announced, now=now))
    # Identity: new people are matched at once (merged above the auto threshold, queued for review
    # between the thresholds); people whose names or phones changed are re-indexed and reviewed.
    found = resolve(session, [pid for s in new_slots if (pid := person_ids[s]) is not None], now=now)
    result.events.extend(found.events)
    result.events.extend(resolve(session, changed_keys, now=now, auto_merge=False).events)
    if found.survivor_of:
        survivors = dict(
            select_in(session, (Person.id, Person.account_id), Person.id, set(found.survivor_of.values()))
        )
        for slot, pid in enumerate(person_ids):
            if pid is not None and pid in found.survivor_of:
                person_ids[slot] = found.survivor_of[pid]
                accounts_of[slot] = survivors.get(person_ids[slot])
                statuses[slot] = "updated"
    activity_of = {i: o.activity_id for i, o in zip(act_slots, act_result.outcomes, strict=True)}
    for i, (slot, first) in enumerate(zip(slot_of, folded.first_rows(), strict=True)):
        result.outcomes.append(
            Outcome(
                statuses[slot] if first else "duplicate",
                person_ids[slot],
                accounts_of[slot],
                activity_of.get(i),
            )
        )
    return result


def _account_match(p: PersonIn, hint: AccountHint, fuzzy: dict[str, str]) -> str:
    """Why this person belongs to the account their hint found."""
    kind, value = hint
    if kind == "external_id":
        return f"account id {value}"
    if kind == "domain":
        return f"e-mail domain {value}" if p.email_domain == value else f"website {value}"
    return fuzzy.get(value) or f"company name {p.company!r}"


def _insert_people(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Ids of the new people, in the order given. One multi-row INSERT ... RETURNING for the rows
    with a unique key (external_id or e-mail), mapped back by that key: RETURNING order is not
    guaranteed, and asking SQLAlchemy to sort it makes SQLite insert row by row."""
    ids: list[int | None] = [None] * len(rows)
    keyed = [i for i, r in enumerate(rows) if r["external_id"] or r["email"]]
    by_ext: dict[str, int] = {}
    by_email: dict[str, int] = {}
    created = insert_created(
        session,
        Person.__table__,
        [rows[i] for i in keyed],
        keys=("external_id", "email"),
        returning=("id", "external_id", "email"),
    )
    for pid, ext, email in created:
        if ext:
            by_ext[ext] = pid
        if email:
            by_email[email] = pid
    for i in keyed:
        r = rows[i]
        pid = by_ext.get(r["external_id"]) if r["external_id"] else by_email.get(r["email"])
        if pid is None:
            raise RaceLost(f"person {r['external_id'] or r['email']} was created by a concurrent writer")
        ids[i] = pid
    for i, r in enumerate(rows):
        if ids[i] is None:  # phone-only people have no unique key to map back by
            ids[i] = session.scalar(sa.insert(Person).returning(Person.id).values(**r))
    return [int(pid) for pid in ids if pid is not None]
