"""Use cases of capture: every door (API, form, import, demo) lands records through these.

Each function works inside the caller's unit of work (one transaction per batch) and returns what
happened per item plus the domain events to publish after the commit.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.model import AccountIn, ActivityIn, CampaignIn, OpportunityIn, PersonIn
from leadloop.capture.repository import (
    AccountHint,
    ensure_accounts,
    ensure_campaigns,
    nurture_queue_id,
    people_by_email,
    people_by_external_id,
    people_by_keys,
)
from leadloop.core.events import Event
from leadloop.identity.accounts import index_accounts
from leadloop.identity.review import people_by_email_key, resolve
from leadloop.leads.summary import BUMP_LEAD, DEFAULT_PRODUCT, REFRESH_CONTACTS
from leadloop.routing.handlers import record_touches, route_new_mqls
from leadloop.scoring.handlers import apply_activities
from leadloop.store.bulk import RaceLost, connection, insert_created, select_in
from leadloop.store.tables import Account, Activity, Campaign, Lead, Opportunity, Person


@dataclass(slots=True)
class Outcome:
    status: str  # created | updated | unchanged | duplicate
    id: int | None = None
    account_id: int | None = None
    activity_id: int | None = None


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


_PERSON_COLUMNS = (
    "external_id",
    "email",
    "email_kind",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "company",
    "website",
    "country",
    "state",
    "city",
    "postcode",
    "lead_source",
)


def _merge_into(a: PersonIn, b: PersonIn) -> PersonIn:
    """Two rows of one batch about the same person: the later non-empty value wins; opt-out sticks."""
    for f in fields(PersonIn):
        if f.name in ("attributes", "email_opt_in"):
            continue
        value = getattr(b, f.name)
        if value is not None:
            setattr(a, f.name, value)
    a.attributes = {**a.attributes, **b.attributes}
    a.email_opt_in = _consent(a.email_opt_in, b.email_opt_in, explicit=False)
    return a


def _consent(current: bool | None, incoming: bool | None, *, explicit: bool) -> bool | None:
    """An opt-out is never lost to a later import or merge; only an explicit consent (a form the
    person ticked) turns it back on."""
    if incoming is None:
        return current
    if current is False and incoming is True and not explicit:
        return False
    return incoming


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
    account, and append the activity that recorded the capture."""
    result = Result()
    if not items:
        return result
    # Rows of one batch about the same person become one.
    slot_of: dict[str, int] = {}
    merged: list[PersonIn] = []
    index_map: list[int] = []
    for item in items:
        keys = [
            k
            for k in (
                f"x:{item.external_id}" if item.external_id else None,
                f"e:{item.email}" if item.email else None,
                f"p:{item.phone}" if not (item.external_id or item.email) else None,
            )
            if k
        ]
        slot = next((slot_of[k] for k in keys if k in slot_of), None)
        if slot is None:
            slot = len(merged)
            merged.append(item)
        else:
            if merged[slot] is items[index_map.index(slot)]:
                merged[slot] = copy.copy(merged[slot])  # never mutate the caller's record
            _merge_into(merged[slot], item)
        for k in keys:
            slot_of[k] = slot
        index_map.append(slot)

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
        row.id: row
        for row in select_in(
            session, (Person.__table__,), Person.id, [i for i in existing_ids if i is not None]
        )
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
        values = {c: getattr(p, c) for c in _PERSON_COLUMNS if getattr(p, c) is not None}
        why = _account_match(p, hint, fuzzy) if account_id is not None and hint else None
        if pid is None:
            new_rows.append(
                {
                    **{c: None for c in _PERSON_COLUMNS},
                    **values,
                    "account_match": why,
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "email_opt_in": p.email_opt_in,
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
        change: dict[str, Any] = {}
        for col, value in values.items():
            if getattr(row, col) != value:
                change[col] = value
        if "email" in change and (
            by_email_key.get(p.email or "") == pid or by_email.get(p.email or "") == pid
        ):
            # The same address spelled another way, or one of a merged-away record: keep the stored one.
            del change["email"]
            change.pop("email_kind", None)
        if "email" in change and p.email in by_email and by_email[p.email] != pid:
            # The address belongs to someone else already: keep it beside, never steal it.
            del change["email"]
            change.pop("email_kind", None)
            change["attributes"] = {**row.attributes, "email_conflict": p.email}
        if account_id is not None and row.account_id != account_id and (row.account_id is None or hint):
            change["account_id"], change["account_match"] = account_id, why
        if campaign_id is not None and row.campaign_id is None:
            change["campaign_id"] = campaign_id
        consent = _consent(row.email_opt_in, p.email_opt_in, explicit=explicit_consent)
        if consent != row.email_opt_in:
            change["email_opt_in"] = consent
        merged_attrs = {**row.attributes, **change.get("attributes", {}), **p.attributes}
        if merged_attrs != row.attributes:
            change["attributes"] = merged_attrs
        if change:
            change["updated_at"] = now
            updates.append({"id": pid, **change})
        statuses.append("updated" if change else "unchanged")
        person_ids.append(pid)
        accounts_of.append(change.get("account_id", row.account_id))

    if new_rows:
        for slot, pid in zip(new_slots, _insert_people(session, new_rows), strict=True):
            person_ids[slot] = pid
    if updates:
        for change in updates:
            session.execute(sa.update(Person).where(Person.id == change["id"]).values(**change))
    changed_keys = [u["id"] for u in updates if _MATCHED_ON.intersection(u)]

    acts: list[ActivityIn] = []
    act_slots: list[int] = []
    if activities is not None:
        for i, act in enumerate(activities):
            if act is not None:
                acts.append(act)
                act_slots.append(i)
    act_result = ingest_activities(
        session,
        acts,
        now=now,
        source=source,
        person_ids=[(person_ids[index_map[i]], accounts_of[index_map[i]]) for i in act_slots],
    )
    result.events.extend(act_result.events)
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
    first_of: dict[int, int] = {}
    for i, slot in enumerate(index_map):
        first_of.setdefault(slot, i)
    for i in range(len(items)):
        slot = index_map[i]
        first = first_of[slot] == i
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


_MATCHED_ON = frozenset({"first_name", "last_name", "email", "phone", "postcode", "company", "city"})


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


def ingest_activities(
    session: Session,
    items: list[ActivityIn],
    *,
    now: datetime,
    source: str,
    person_ids: list[tuple[int | None, int | None]] | None = None,
) -> Result:
    """Append activities. A retry with the same external_id, idempotency key or content is a no-op.
    An activity about an unknown e-mail creates that person: no signal is dropped."""
    result = Result()
    if not items:
        return result
    links: list[tuple[int | None, int | None]]
    if person_ids is not None:
        links = list(person_ids)
    else:
        links = _link_people(session, items, now=now, source=source)
    acct_hints = {("external_id", a.account_external_id): None for a in items if a.account_external_id}
    acct_ids = ensure_accounts(session, acct_hints, now=now) if acct_hints else {}
    campaign_ids = ensure_campaigns(session, {a.campaign for a in items if a.campaign}, now=now)

    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for a, (pid, aid) in zip(items, links, strict=True):
        key = a.dedupe_key or (f"ext:{a.external_id}" if a.external_id else f"fp:{a.fingerprint()}")
        keys.append(key)
        account_id = acct_ids.get(("external_id", a.account_external_id)) if a.account_external_id else aid
        rows.append(
            {
                "dedupe_key": key,
                "external_id": a.external_id,
                "person_id": pid,
                "account_id": account_id,
                "visitor_id": a.visitor_id,
                "type": a.type,
                "occurred_at": a.occurred_at,
                "recorded_at": now,
                "channel": a.channel,
                "direction": a.direction,
                "campaign_id": campaign_ids.get(a.campaign) if a.campaign else None,
                "product": a.product,
                "value": a.value,
                "url": a.url,
                "source": source,
                "payload": a.payload,
            }
        )
    # The same key twice in one batch is one activity.
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    created = {
        r.dedupe_key: r.id
        for r in insert_created(
            session,
            Activity.__table__,
            list(unique.values()),
            keys=("dedupe_key",),
            returning=("id", "dedupe_key"),
        )
    }
    missing = [k for k in keys if k not in created]
    stored: dict[str, int] = (
        dict(select_in(session, (Activity.dedupe_key, Activity.id), Activity.dedupe_key, missing))
        if missing
        else {}
    )
    fresh: list[dict[str, Any]] = []
    for key, row in zip(keys, rows, strict=True):
        if key in created:
            aid = created.pop(key)
            fresh.append({**row, "id": aid})
            result.outcomes.append(Outcome("created", aid, row["account_id"], aid))
        else:
            aid = stored.get(key) or next(f["id"] for f in fresh if f["dedupe_key"] == key)
            result.outcomes.append(Outcome("duplicate", aid, row["account_id"], aid))
    # A visitor who has just identified themselves: their anonymous history joins them now.
    result.events.extend(touch_leads(session, fresh + _stitch_visitors(session, fresh), now=now))
    return result


def _known_visitors(session: Session, visitor_ids: set[str]) -> dict[str, tuple[int, int | None]]:
    """Visitor id -> the person (and account) it was last seen identified as."""
    out: dict[str, tuple[int, int | None]] = {}
    if visitor_ids:
        for vid, pid, aid in session.execute(
            sa.select(Activity.visitor_id, Activity.person_id, Activity.account_id)
            .where(Activity.visitor_id.in_(visitor_ids), Activity.person_id.is_not(None))
            .order_by(Activity.id.desc())
        ):
            if vid is not None and pid is not None:
                out.setdefault(vid, (pid, aid))
    return out


def _stitch_visitors(session: Session, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier anonymous activities of visitors these rows identify get the person and account; they
    are returned so that scoring and the lead summary count them now."""
    known = {
        r["visitor_id"]: (r["person_id"], r["account_id"])
        for r in fresh
        if r.get("visitor_id") and r.get("person_id")
    }
    if not known:
        return []
    rows = session.execute(
        sa.select(
            Activity.id, Activity.visitor_id, Activity.type, Activity.occurred_at, Activity.product
        ).where(Activity.visitor_id.in_(list(known)), Activity.person_id.is_(None))
    ).all()
    if not rows:
        return []
    updates = [{"aid": r.id, "pid": known[r.visitor_id][0], "acct": known[r.visitor_id][1]} for r in rows]
    connection(session).execute(
        sa.text("UPDATE activities SET person_id = :pid, account_id = :acct WHERE id = :aid"), updates
    )
    return [
        {
            "id": r.id,
            "person_id": known[r.visitor_id][0],
            "account_id": known[r.visitor_id][1],
            "type": r.type,
            "occurred_at": r.occurred_at,
            "product": r.product,
            "visitor_id": r.visitor_id,
        }
        for r in rows
    ]


def _link_people(
    session: Session, items: list[ActivityIn], *, now: datetime, source: str
) -> list[tuple[int | None, int | None]]:
    by_ext: dict[str, tuple[int | None, int | None]] = dict(
        people_by_external_id(session, {a.person_external_id for a in items if a.person_external_id})
    )
    emails = {a.email for a in items if a.email}
    by_email: dict[str, tuple[int | None, int | None]] = dict(people_by_email(session, emails))
    unknown = sorted(e for e in emails if e not in by_email)
    if unknown:
        from leadloop.capture.model import parse_person

        created = ingest_people(
            session, [parse_person({"email": e}) for e in unknown], now=now, source=source
        )
        for e, o in zip(unknown, created.outcomes, strict=True):
            by_email[e] = (o.id, o.account_id)
    visitors = _known_visitors(
        session, {a.visitor_id for a in items if a.visitor_id and not (a.email or a.person_external_id)}
    )
    links: list[tuple[int | None, int | None]] = []
    for a in items:
        link = (by_ext.get(a.person_external_id) if a.person_external_id else None) or (
            by_email.get(a.email) if a.email else None
        )
        if link is None and a.visitor_id:  # an anonymous visit by someone already identified
            link = visitors.get(a.visitor_id)
        links.append(link or (None, None))
    return links


def touch_leads(session: Session, fresh: list[dict[str, Any]], *, now: datetime) -> list[Event]:
    """Keep the activity summary of each account x product lead, then let scoring update engagement,
    open the leads whose engagement crossed the model's threshold, and raise MQLs."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in fresh:
        if row["account_id"] is not None:
            groups[(row["account_id"], row["product"] or DEFAULT_PRODUCT)].append(row)
    if groups:
        existing = {
            (r.account_id, r.product): r.id
            for r in select_in(
                session, (Lead.id, Lead.account_id, Lead.product), Lead.account_id, {k[0] for k in groups}
            )
        }
        bumps = [
            {"n": len(acts), "last": max(a["occurred_at"] for a in acts), "id": existing[key]}
            for key, acts in sorted(groups.items())
            if key in existing
        ]
        if bumps:
            conn = connection(session)
            conn.execute(BUMP_LEAD, bumps)
            conn.execute(REFRESH_CONTACTS, [{"default": DEFAULT_PRODUCT, "id": b["id"]} for b in bumps])
    events = apply_activities(session, fresh, now=now, queue_id=lambda s: nurture_queue_id(s, now=now))
    # A logged call or meeting stops an SLA clock; a new MQL is routed at once, in this transaction.
    record_touches(session, fresh, now=now)
    return events + route_new_mqls(session, events, now=now)


_ACCOUNT_COLUMNS = (
    "external_id",
    "name",
    "name_key",
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
)


def upsert_accounts(session: Session, items: list[AccountIn], *, now: datetime) -> Result:
    """Accounts matched by external_id, then domain, then exact cleaned name."""
    result = Result()
    hints: list[AccountHint] = []
    for a in items:
        if a.external_id:
            hints.append(("external_id", a.external_id))
        elif a.domain:
            hints.append(("domain", a.domain))
        else:
            hints.append(("name_key", a.name_key or ""))
    from leadloop.capture.repository import find_accounts

    found = find_accounts(session, set(hints))
    # An account known by domain but imported now with an external_id: adopt it.
    by_domain = find_accounts(session, {("domain", a.domain) for a in items if a.domain})
    # The accounts this batch will update, in one query instead of one each.
    loaded = {
        r.id: r
        for r in session.scalars(
            sa.select(Account).where(Account.id.in_({*found.values(), *by_domain.values()} or {-1}))
        )
    }
    done: dict[AccountHint, int | None] = {}
    for a, hint in zip(items, hints, strict=True):
        values = {c: getattr(a, c) for c in _ACCOUNT_COLUMNS if getattr(a, c) is not None}
        aid = done.get(hint) or found.get(hint) or (by_domain.get(("domain", a.domain)) if a.domain else None)
        if aid is None:
            row_values = {
                **dict.fromkeys(_ACCOUNT_COLUMNS),
                **values,
                "name": a.name or a.domain or a.external_id,
                "name_key": a.name_key or (a.domain or a.external_id or "").casefold(),
                "attributes": a.attributes,
                "created_at": now,
                "updated_at": now,
            }
            aid = session.scalar(sa.insert(Account).returning(Account.id).values(**row_values))
            status = "created"
        else:
            row = loaded.get(aid) or session.get_one(Account, aid)
            change = {c: v for c, v in values.items() if getattr(row, c) != v}
            if a.attributes and {**row.attributes, **a.attributes} != row.attributes:
                change["attributes"] = {**row.attributes, **a.attributes}
            if change:
                change["updated_at"] = now
                session.execute(sa.update(Account).where(Account.id == aid).values(**change))
            status = "updated" if change else ("duplicate" if hint in done else "unchanged")
        done[hint] = aid
        result.outcomes.append(Outcome(status, aid, aid))
    named = {o.id for o in result.outcomes if o.status in ("created", "updated") and o.id is not None}
    if named:
        index_accounts(session, select_in(session, (Account.id, Account.name_key), Account.id, named))
    _link_parents(session)
    return result


def _link_parents(session: Session) -> None:
    parent = sa.select(Account.id).where(Account.external_id == sa.literal_column("child.parent_external_id"))
    child = sa.orm.aliased(Account, name="child")
    session.execute(
        sa.update(child)
        .where(child.parent_external_id.is_not(None), child.parent_id.is_(None))
        .values(parent_id=parent.scalar_subquery())
    )


def upsert_campaigns(session: Session, items: list[CampaignIn], *, now: datetime) -> Result:
    result = Result()
    for k in items:
        cid = None
        if k.external_id:
            cid = session.scalar(sa.select(Campaign.id).where(Campaign.external_id == k.external_id))
        if cid is None:
            cid = session.scalar(sa.select(Campaign.id).where(Campaign.name == k.name))
        values = {f.name: getattr(k, f.name) for f in fields(CampaignIn) if getattr(k, f.name) is not None}
        if cid is None:
            values.setdefault("utm_campaign", k.name)
            cid = session.scalar(sa.insert(Campaign).returning(Campaign.id).values(**values, created_at=now))
            result.outcomes.append(Outcome("created", cid))
            continue
        row = session.get_one(Campaign, cid)
        change = {c: v for c, v in values.items() if getattr(row, c) != v}
        if change:
            session.execute(sa.update(Campaign).where(Campaign.id == cid).values(**change))
        result.outcomes.append(Outcome("updated" if change else "unchanged", cid))
    return result


def _lead_for_opportunity(session: Session, account_id: int | None, product: str | None) -> int | None:
    """The lead an opportunity grew from: the account's lead for that product or, when the CRM gave
    no product (it often does not), the account's most recently active lead."""
    if account_id is None:
        return None
    stmt = sa.select(Lead.id).where(Lead.account_id == account_id)
    if product:
        stmt = stmt.where(Lead.product == product)
    return session.scalar(stmt.order_by(Lead.last_activity_at.desc(), Lead.id.desc()).limit(1))


def upsert_opportunities(session: Session, items: list[OpportunityIn], *, now: datetime) -> Result:
    result = Result()
    acct = ensure_accounts(
        session,
        {("external_id", o.account_external_id): None for o in items if o.account_external_id},
        now=now,
    )
    people: dict[str, tuple[int | None, int | None]] = dict(
        people_by_external_id(session, {o.person_external_id for o in items if o.person_external_id})
    )
    existing = {
        r[0]: r[1]
        for r in select_in(
            session,
            (Opportunity.external_id, Opportunity.id),
            Opportunity.external_id,
            {o.external_id for o in items},
        )
    }
    acts: list[ActivityIn] = []
    links: list[tuple[int | None, int | None]] = []
    for o in items:
        pid, p_acct = people.get(o.person_external_id or "", (None, None))
        account_id = acct.get(("external_id", o.account_external_id)) if o.account_external_id else p_acct
        lead_id = _lead_for_opportunity(session, account_id, o.product)
        values = {
            "account_id": account_id,
            "person_id": pid,
            "lead_id": lead_id,
            "product": o.product,
            "created_at": o.created_at,
            "closed_at": o.closed_at,
            "stage": o.stage,
            "outcome": o.outcome,
            "amount": o.amount,
            "lost_reason": o.lost_reason,
        }
        if lead_id is not None:
            # The lead follows its opportunity: opportunity while open, then won or lost.
            stage = {"open": "opportunity", "won": "won", "lost": "lost"}[o.outcome]
            session.execute(
                sa.update(Lead)
                .where(Lead.id == lead_id, Lead.stage != stage)
                .values(stage=stage, stage_changed_at=o.closed_at or o.created_at)
            )
        oid = existing.get(o.external_id)
        if oid is None:
            oid = session.scalar(
                sa.insert(Opportunity).returning(Opportunity.id).values(external_id=o.external_id, **values)
            )
            existing[o.external_id] = oid
            result.outcomes.append(Outcome("created", oid, account_id))
        else:
            session.execute(sa.update(Opportunity).where(Opportunity.id == oid).values(**values))
            result.outcomes.append(Outcome("updated", oid, account_id))
        stages = [("opportunity_created", o.created_at)]
        if o.outcome in ("won", "lost") and o.closed_at:
            stages.append((f"opportunity_{o.outcome}", o.closed_at))
        for kind, at in stages:
            acts.append(
                ActivityIn(
                    type=kind,
                    occurred_at=at,
                    channel="crm",
                    product=o.product,
                    value=o.amount,
                    payload={"opportunity": o.external_id},
                    dedupe_key=f"opp:{o.external_id}:{kind}",
                )
            )
            links.append((pid, account_id))
    result.events.extend(ingest_activities(session, acts, now=now, source="import", person_ids=links).events)
    return result
