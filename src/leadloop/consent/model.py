"""Consent: may this person be sent this kind of message, and why. Pure: every rule takes `now`.

A person's consent is a log of changes (`consent_events`), each about one subscription type or about
`ALL` of them (an unsubscribe from everything also covers types added later). What holds now for a
type is the later of its own latest change and ALL's latest change, "later" being the order of the
log, never a clock, so that two changes in one instant still have an order. A withdrawal wins on
every path but one: the person's own explicit consent (ADR 0004, ADR 0027).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from leadloop.core.errors import InvalidInput

ALL = "*"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class Status(StrEnum):
    GRANTED = "granted"
    PENDING = "pending"  # double opt-in: waiting for the person to confirm
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # implied consent whose time ran out
    CLEARED = "cleared"  # no statement of its own (an unmerge took back what a merge had added)


class Basis(StrEnum):
    """The legal basis a grant rests on."""

    CONSENT = "consent"  # the person said yes (a ticked box, a confirmed double opt-in, a file vouching)
    IMPLIED = "implied"  # an inquiry, for a limited time (CASL)
    LEGITIMATE_INTEREST = "legitimate_interest"  # recorded by an admin, with the reason


class ConsentSettingsError(InvalidInput):
    """The consent settings cannot be used; the sentence names the setting."""


@dataclass(frozen=True)
class SubscriptionType:
    code: str
    label: str


def parse_types(specs: Iterable[str]) -> tuple[SubscriptionType, ...]:
    """LEADLOOP_SUBSCRIPTION_TYPES: "code=Label" each, e.g. "newsletter=Newsletter"."""
    out: list[SubscriptionType] = []
    for spec in specs:
        code, _, label = spec.partition("=")
        code, label = code.strip(), label.strip() or code.strip().replace("_", " ").capitalize()
        if not _CODE.fullmatch(code):
            raise ConsentSettingsError(
                f"LEADLOOP_SUBSCRIPTION_TYPES: {code!r} is not a code; use lower-case letters, digits "
                "and _ (up to 40), e.g. newsletter=Newsletter"
            )
        if any(t.code == code for t in out):
            raise ConsentSettingsError(f"LEADLOOP_SUBSCRIPTION_TYPES: {code!r} is listed twice")
        out.append(SubscriptionType(code, label[:100]))
    if not out:
        raise ConsentSettingsError("LEADLOOP_SUBSCRIPTION_TYPES: name at least one subscription type")
    return tuple(out)


@dataclass(frozen=True)
class State:
    """Where one scope (a type, or ALL) stands: set by the log entry numbered `seq`."""

    scope: str
    status: Status
    basis: Basis | None
    since: datetime
    seq: int
    source: str
    expires_at: datetime | None = None
    detail: str | None = None  # only when read from the log itself


@dataclass(frozen=True)
class Change:
    """One entry to append to the log (and the state it leaves)."""

    scope: str
    status: Status
    basis: Basis | None
    source: str
    expires_at: datetime | None = None
    detail: str | None = None


States = Mapping[str, State]


def effective(states: States, code: str, now: datetime) -> State | None:
    """What governs `code` now: the later of its own state and ALL's. Implied consent past its
    expiry reads as expired even before the timer has recorded it, so a late sweeper never lets a
    message through."""
    found = [s for s in (states.get(code), states.get(ALL)) if s is not None and s.status != Status.CLEARED]
    if not found:
        return None
    state = max(found, key=lambda s: s.seq)
    if state.status == Status.GRANTED and state.expires_at is not None and state.expires_at <= now:
        return replace(state, status=Status.EXPIRED)
    return state


def _withdrawn(state: State | None) -> bool:
    return state is not None and state.status == Status.WITHDRAWN


def _express(state: State | None) -> bool:
    return state is not None and state.status == Status.GRANTED and state.basis != Basis.IMPLIED


# What may change a scope: each returns the entry to append, or None when nothing changes.


def everything_withdrawn(states: States) -> bool:
    """The person withdrew from everything (ALL) and granted nothing, nor asked for anything, since."""
    every = states.get(ALL)
    if every is None or every.status != Status.WITHDRAWN:
        return False
    live = (Status.GRANTED, Status.PENDING)
    return not any(s.seq > every.seq and s.status in live for s in states.values())


def withdraw(
    states: States, scope: str, *, source: str, now: datetime, detail: str | None = None
) -> Change | None:
    """A withdrawal, unless it would change nothing: for ALL, when everything is withdrawn already
    and nothing was granted since; for a type, when it is withdrawn already."""
    if scope == ALL:
        if everything_withdrawn(states):
            return None
    elif _withdrawn(effective(states, scope, now)):
        return None
    return Change(scope, Status.WITHDRAWN, None, source, detail=detail)


def grant(
    states: States,
    scope: str,
    *,
    basis: Basis,
    explicit: bool,
    source: str,
    now: datetime,
    pending: bool = False,
    expires_at: datetime | None = None,
    detail: str | None = None,
) -> Change | None:
    """Consent for one type. A withdrawal stands unless the person themselves says yes (`explicit`);
    implied consent never replaces an express one and only ever extends its own expiry; `pending`
    (double opt-in) waits for the person's confirmation."""
    if scope == ALL:
        raise ValueError("consent is given per subscription type, never to ALL")  # a programming error
    current = effective(states, scope, now)
    if _withdrawn(current) and not explicit:
        return None
    if basis == Basis.IMPLIED:
        if expires_at is None or expires_at <= now or _express(current):
            return None
        if current is not None and current.status == Status.PENDING:
            return None
        if (
            current is not None
            and current.status == Status.GRANTED
            and current.expires_at is not None
            and current.expires_at >= expires_at
        ):
            return None
        return Change(scope, Status.GRANTED, basis, source, expires_at=expires_at, detail=detail)
    if current is not None and current.status == Status.GRANTED and current.basis == Basis.CONSENT:
        return None  # already consented
    if pending:
        if current is not None and current.status == Status.PENDING:
            return None
        return Change(scope, Status.PENDING, Basis.CONSENT, source, detail=detail)
    if current is not None and current.status == Status.GRANTED and current.basis == basis:
        return None
    return Change(scope, Status.GRANTED, basis, source, detail=detail)


def confirm(states: States, scope: str, *, now: datetime) -> Change | None:
    """A double opt-in confirmed: what was pending is granted (and nothing else)."""
    current = effective(states, scope, now)
    if current is None or current.status != Status.PENDING:
        return None
    return Change(scope, Status.GRANTED, Basis.CONSENT, "double_opt_in", detail="confirmed by the person")


def _governs(states: States, s: State) -> bool:
    every = states.get(ALL)
    return s.scope != ALL and (every is None or every.seq < s.seq)


def _implied(states: States) -> list[State]:
    """The implied consents that govern their type (not overtaken by an unsubscribe from all)."""
    return [
        s
        for s in states.values()
        if s.status == Status.GRANTED and s.expires_at is not None and _governs(states, s)
    ]


def expire(states: States, *, now: datetime) -> list[Change]:
    """Implied consents whose time ran out, recorded."""
    return [
        Change(
            s.scope,
            Status.EXPIRED,
            s.basis,
            "expiry",
            detail=f"implied consent ended {s.expires_at:%Y-%m-%d}",
        )
        for s in _implied(states)
        if s.expires_at is not None and s.expires_at <= now
    ]


def next_expiry(states: States, now: datetime) -> datetime | None:
    """When the next implied consent runs out (the timer's due time); one already past is due now."""
    due = [max(s.expires_at, now) for s in _implied(states) if s.expires_at is not None]
    return min(due) if due else None


def apply(states: States, changes: Iterable[Change], *, now: datetime, first_seq: int) -> dict[str, State]:
    """The states after `changes`, numbered from `first_seq` (the log assigns the real numbers)."""
    out = dict(states)
    for i, c in enumerate(changes):
        out[c.scope] = State(c.scope, c.status, c.basis, now, first_seq + i, c.source, c.expires_at)
    return out


def summary(states: States, codes: Iterable[str], now: datetime) -> bool | None:
    """`people.email_opt_in`, derived: True when the person expressly consented to some type, False
    when they withdrew and consent to nothing, None when nothing is known (implied consent and a
    legitimate interest are not an opt-in, so an export re-imported never turns them into one)."""
    found = [effective(states, c, now) for c in codes]
    if any(s is not None and s.status == Status.GRANTED and s.basis == Basis.CONSENT for s in found):
        return True
    if any(_withdrawn(s) for s in found) or _withdrawn(states.get(ALL)):
        return False
    return None


# Merges: the survivor gets the most restrictive of both people, for every type and for ALL.

_RANK = {Status.WITHDRAWN: 5, Status.GRANTED: 4, Status.PENDING: 2, Status.EXPIRED: 1}


def _stronger(a: State | None, b: State | None) -> State | None:
    """Withdrawn beats consent beats legitimate interest beats implied (the later expiry) beats
    pending beats expired beats nothing."""

    def key(s: State) -> tuple[int, int, datetime]:
        basis = (
            {Basis.CONSENT: 3, Basis.LEGITIMATE_INTEREST: 2, Basis.IMPLIED: 1}.get(s.basis, 0)
            if s.basis
            else 0
        )
        return (_RANK[s.status], basis if s.status == Status.GRANTED else 0, s.expires_at or s.since)

    found = [s for s in (a, b) if s is not None]
    return max(found, key=key) if found else None


def merge(
    survivor: States, merged: States, codes: Iterable[str], *, now: datetime, detail: str
) -> list[Change]:
    """The entries that give the survivor the most restrictive of both: ALL first (an opt-out from
    everything on either side), then each type whose outcome then differs from what it should be."""
    scopes = sorted({*codes, *survivor, *merged} - {ALL})
    wanted = {c: _stronger(effective(survivor, c, now), effective(merged, c, now)) for c in scopes}
    changes: list[Change] = []
    states = dict(survivor)
    if _withdrawn(merged.get(ALL)) and not _withdrawn(survivor.get(ALL)):
        changes.append(Change(ALL, Status.WITHDRAWN, None, "merge", detail=detail))
        states = apply(states, changes, now=now, first_seq=_top(states) + 1)
    for code in scopes:
        want, have = wanted[code], effective(states, code, now)
        if want is None or _same(want, have):
            continue
        changes.append(Change(code, want.status, want.basis, "merge", want.expires_at, detail))
    return changes


def merge_detail(merged_id: int) -> str:
    return f"person #{merged_id} merged in"


def unmerge(
    survivor_log: Sequence[State], merged: States, *, survivor_id: int, merged_id: int, now: datetime
) -> tuple[list[Change], list[Change]]:
    """Undoing a merge: (the survivor's entries, the returning person's entries). Every scope whose
    latest entry the merge wrote goes back to what it was before the merge (or to no statement); an
    opt-out given since the merge stays, and holds for the returning person too (it may have been
    theirs). The returning person's own log was never touched by the merge."""
    ours, undone = merge_detail(merged_id), f"person #{merged_id} unmerged"
    log = sorted(survivor_log, key=lambda e: e.seq)
    # The same two people merged again after an unmerge: only the latest merge is undone now.
    since = max((e.seq for e in log if e.source == "unmerge" and e.detail == undone), default=0)
    merge_seqs = {e.seq for e in log if e.source == "merge" and e.detail == ours and e.seq > since}
    first = min(merge_seqs, default=(log[-1].seq + 1) if log else 1)
    current: dict[str, State] = {}
    before: dict[str, State] = {}
    for e in log:
        current[e.scope] = e
        if e.seq < first:
            before[e.scope] = e
    back = f"unmerged from person #{survivor_id}"
    survivor: list[Change] = []
    for scope, e in sorted(current.items()):
        if e.seq in merge_seqs:
            was = before.get(scope)
            survivor.append(
                Change(scope, was.status, was.basis, "unmerge", was.expires_at, undone)
                if was is not None
                else Change(scope, Status.CLEARED, None, "unmerge", detail=undone)
            )
    returning: list[Change] = []
    states = dict(merged)
    for e in log:
        if e.seq > first and e.seq not in merge_seqs and e.status == Status.WITHDRAWN:
            change = withdraw(states, e.scope, source="unmerge", now=now, detail=back)
            if change is not None:
                returning.append(change)
                states = apply(states, [change], now=now, first_seq=_top(states) + 1)
    return survivor, returning


def _same(a: State, b: State | None) -> bool:
    return b is not None and (a.status, a.basis, a.expires_at) == (b.status, b.basis, b.expires_at)


def _top(states: States) -> int:
    return max((s.seq for s in states.values()), default=0)


class Plan:
    """Entries decided one after another, each on the states the ones before it left: a person
    named twice in one batch is decided twice, in order. `before` stays as loaded."""

    def __init__(self, before: dict[int, dict[str, State]], now: datetime) -> None:
        self.before = before
        self.after = {pid: dict(states) for pid, states in before.items()}
        self.entries: list[tuple[int, Change]] = []
        self.now = now

    def states(self, person_id: int) -> dict[str, State]:
        return self.after.setdefault(person_id, {})

    def add(self, person_id: int, change: Change | None) -> Change | None:
        if change is not None:
            states = self.states(person_id)
            self.after[person_id] = apply(states, [change], now=self.now, first_seq=_top(states) + 1)
            self.entries.append((person_id, change))
        return change

    def touched(self) -> dict[int, dict[str, State]]:
        return {pid: self.after[pid] for pid in dict.fromkeys(pid for pid, _ in self.entries)}
