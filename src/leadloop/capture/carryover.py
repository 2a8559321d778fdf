"""A team switching from a peer CRM keeps its state: what a people file says beyond the person (the
owner, the lifecycle stage and lead status, the company's website, revenue, size and industry)
lands on the account and on the lead of the person's account, inside the batch's transaction.

The stage and the owner are written by the lifecycle (ADR 0012): a stage by the `imported` move,
which only ever takes a lead forward once sales holds it, and the owner by a routing move, only
onto a lead a queue holds (Leadloop's own assignments are never undone by an old export).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.model import PersonIn
from leadloop.capture.results import Outcome
from leadloop.contract.peers import UserRef, match_owner, stage_of
from leadloop.core.events import Event
from leadloop.core.reactions import publish
from leadloop.lifecycle.handlers import Move, NewLead, OwnerRef, move, move_many, open_leads
from leadloop.lifecycle.model import DEFAULT_PRODUCT, WITH_MARKETING, Stage, Trigger, further
from leadloop.store.bulk import select_in
from leadloop.store.tables import Account, Lead, User

_FIRMOGRAPHICS = ("industry", "employees", "annual_revenue")
_MARKETINGS = frozenset(s.value for s in WITH_MARKETING)


@dataclass
class Carry:
    """What an import carries over, as the person running it chose (the rest is guessed)."""

    stages: dict[str, str] = field(default_factory=dict)  # peer value -> stage, or "-": not carried
    owners: dict[str, int | None] = field(default_factory=dict)  # peer owner -> user id (None: not)
    users: list[UserRef] = field(default_factory=list)  # who an owner the run did not choose may be
    reason: str = "import"  # on every move in the stage history: "import #12 (hubspot.csv)"

    def owner_of(self, value: str) -> tuple[int | None, str | None]:
        """(user id, None) or (None, why not); (None, None): the run chose not to carry it."""
        chosen = value.strip()
        if chosen in self.owners:
            return self.owners[chosen], None
        uid, why = match_owner(chosen, self.users)
        return (uid, None) if uid is not None else (None, why)


@dataclass
class Carried:
    warnings: list[list[str]]  # one list per item, in order
    leads_opened: int = 0
    stages_moved: int = 0
    owners_set: int = 0
    owners_kept: int = 0  # the lead had a person's owner already
    owners_missing: Counter[str] = field(default_factory=Counter)
    stages_unknown: Counter[str] = field(default_factory=Counter)
    events: list[Event] = field(default_factory=list)


def load_users(session: Session) -> list[UserRef]:
    """Staff who may own a lead: an owner in a file is matched against these."""
    rows = session.execute(
        sa.select(User.id, User.email, User.name).where(User.active.is_(True), User.role != "partner")
    )
    return [UserRef(r.id, r.email, r.name) for r in rows]


@dataclass
class _Wanted:
    stage: str | None = None
    owner: int | None = None  # the owner of the row that set the furthest stage, else the first one


def carry_over(
    session: Session, items: list[PersonIn], outcomes: list[Outcome], carry: Carry, *, now: datetime
) -> Carried:
    out = Carried(warnings=[[] for _ in items])
    _firmographics(session, items, outcomes, now=now)
    wanted: dict[int, _Wanted] = {}
    for i, (p, o) in enumerate(zip(items, outcomes, strict=True)):
        stage = _stage(p, carry, out.warnings[i], out.stages_unknown)
        owner = None
        if p.owner:
            owner, why = carry.owner_of(p.owner)
            if owner is None and why is not None:
                out.owners_missing[p.owner.strip()] += 1
                out.warnings[i].append(f"owner: {p.owner!r}: {why}; the lead keeps its owner")
        if stage is None and owner is None:
            continue
        if o.account_id is None:
            out.warnings[i].append(
                "stage and owner not carried over: the person has no account (no company, website "
                "or work e-mail to find one by)"
            )
            continue
        w = wanted.setdefault(o.account_id, _Wanted())
        if stage is not None and (w.stage is None or further(stage, w.stage)):
            w.stage = stage
            if owner is not None:
                w.owner = owner
        if owner is not None and w.owner is None:
            w.owner = owner
    if wanted:
        _apply(session, wanted, carry, out, now=now)
        out.events = publish(session, out.events, now=now)
    return out


def _stage(p: PersonIn, carry: Carry, warnings: list[str], unknown: Counter[str]) -> str | None:
    """The furthest stage the row's lifecycle stage and lead status mean (HubSpot has both)."""
    best: str | None = None
    for name, value in (("lifecycle_stage", p.lifecycle_stage), ("lead_status", p.lead_status)):
        if not value:
            continue
        stage = stage_of(value, carry.stages)
        if stage is None:
            if value.strip() not in carry.stages and stage_of(value, {}) is None:
                unknown[value.strip()] += 1
                warnings.append(
                    f"{name}: {value!r} is not a stage this import knows; not carried over "
                    "(choose a stage for it on the import's page)"
                )
            continue
        if best is None or further(stage, best):
            best = stage
    return best


def _firmographics(
    session: Session, items: list[PersonIn], outcomes: list[Outcome], *, now: datetime
) -> None:
    """A person row's company facts fill what the account does not know yet; an account's own
    values (from an accounts import or enrichment) are never overwritten by a contact's row."""
    facts: dict[int, dict[str, Any]] = {}
    for p, o in zip(items, outcomes, strict=True):
        if o.account_id is None:
            continue
        f = facts.setdefault(o.account_id, {})
        for name in _FIRMOGRAPHICS:
            if getattr(p, name) is not None:
                f.setdefault(name, getattr(p, name))
        if p.website:
            f.setdefault("domain", p.website)
    facts = {k: v for k, v in facts.items() if v}
    if not facts:
        return
    cols = (Account.id, Account.domain, *(getattr(Account, n) for n in _FIRMOGRAPHICS))
    stored = {r.id: r for r in select_in(session, cols, Account.id, set(facts))}
    domains = {f["domain"] for f in facts.values() if "domain" in f}
    taken = (
        {r[0] for r in select_in(session, (Account.domain,), Account.domain, domains)} if domains else set()
    )
    for account_id, f in facts.items():
        row = stored.get(account_id)
        if row is None:
            continue
        change = {k: v for k, v in f.items() if k != "domain" and getattr(row, k) is None}
        if "domain" in f and row.domain is None and f["domain"] not in taken:
            change["domain"] = f["domain"]
            taken.add(f["domain"])
        if change:
            session.execute(
                sa.update(Account).where(Account.id == account_id).values(**change, updated_at=now)
            )


def _apply(
    session: Session, wanted: dict[int, _Wanted], carry: Carry, out: Carried, *, now: datetime
) -> None:
    leads = _leads_of(session, set(wanted))
    # A peer's subscriber or plain "lead" is no lead here yet (leads open on engagement): a lead is
    # opened for what sales had in hand, or for an owner to hold.
    missing = [
        a
        for a, w in wanted.items()
        if a not in leads and (w.owner is not None or (w.stage is not None and w.stage not in _MARKETINGS))
    ]
    wanted = {a: w for a, w in wanted.items() if a in leads or a in missing}
    if missing:
        ids, opened = open_leads(
            session, [NewLead(a, DEFAULT_PRODUCT, now, now, source="import") for a in missing], now=now
        )
        out.events += opened
        out.leads_opened = len(ids)
        leads.update({a: (lid, Stage.INQUIRY.value) for a, lid in zip(missing, ids, strict=True)})
    moves = [
        Move(lid, stage, Trigger.IMPORTED, now, reason=carry.reason, to=w.stage)
        for a, w in wanted.items()
        if w.stage is not None
        for lid, stage in [leads[a]]
    ]
    moved = move_many(session, moves, now=now)
    out.stages_moved = len(moved)
    out.events += moved
    owners = {leads[a][0]: w.owner for a, w in wanted.items() if w.owner is not None}
    if not owners:
        return
    loaded = session.scalars(
        sa.select(Lead).where(Lead.id.in_(owners)).execution_options(populate_existing=True)
    )
    for lead in loaded:
        uid = owners[lead.id]
        if lead.owner_user_id == uid:
            continue
        if lead.owner_team_id is None:  # a person or a partner holds it: Leadloop's call stands
            out.owners_kept += 1
            continue
        out.events += move(
            session, lead, Trigger.ROUTED, now=now, reason=carry.reason, owner=OwnerRef(user_id=uid)
        )
        out.owners_set += 1


def _leads_of(session: Session, accounts: set[int]) -> dict[int, tuple[int, str]]:
    """Each account's live lead the import speaks of: the default product's, else the most recently
    active one (a peer CRM's lead has no product line)."""
    rows = session.execute(
        sa.select(Lead.account_id, Lead.id, Lead.stage, Lead.product)
        .where(Lead.account_id.in_(accounts), Lead.stage != Stage.MERGED.value)
        .order_by(Lead.account_id, (Lead.product == DEFAULT_PRODUCT).desc(), Lead.last_activity_at.desc())
    ).all()
    out: dict[int, tuple[int, str]] = {}
    for r in rows:
        out.setdefault(r.account_id, (r.id, r.stage))
    return out
