"""Logging the e-mails and invitations that reach the BCC address or the synced mailbox.

A rep BCCs or forwards; the message becomes an `email_sent` (we wrote) or `email_reply` (they
wrote) activity on each outside person it involves, matched by address, on their account, and on
the product of the account's hottest open lead. A calendar invitation becomes a `meeting` on each
outside attendee. Auto-replies, bounces and list traffic never count as a reply: a hard bounce is
recorded on the address's person (consent suppresses the address), the others are logged as
skipped. The same message arriving twice (BCC and IMAP, or a retry) is one activity: its key is
the Message-ID and the person.

A message to the List-Unsubscribe mailto address (LEADLOOP_UNSUBSCRIBE_MAILTO) is no one's reply:
its subject carries the token the mailto was made with, and consent unsubscribes the person it
names, in this transaction, when the token is genuine (`UnsubscribeMailed`; ADR 0031).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.activities import ingest_activities
from leadloop.capture.delivery import record_mail_events
from leadloop.capture.invites import Meeting, read_invite
from leadloop.capture.mail import Kind, Mail, Refused, parse
from leadloop.capture.mail_events import MailEvent, Report
from leadloop.capture.model import ActivityIn, parse_activity
from leadloop.capture.repository import people_by_email
from leadloop.contract.normalise import FREE_DOMAINS
from leadloop.core.events import UnsubscribeMailed
from leadloop.core.logging import get_logger
from leadloop.core.reactions import publish
from leadloop.jobs import outbox
from leadloop.lifecycle.model import OPEN
from leadloop.settings import Settings
from leadloop.store.tables import Lead, User

log = get_logger("leadloop.mailin")

_FUTURE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class MailPolicy:
    internal_domains: frozenset[str] = frozenset()  # our own domains, beside the staff's addresses
    create_people: bool = True  # an unknown outside address becomes a person
    own_addresses: frozenset[str] = frozenset()  # the BCC address itself: never a person
    unsubscribe_address: str = ""  # the List-Unsubscribe mailto's mailbox ("": none)


def policy_of(settings: Settings) -> MailPolicy:
    domains = frozenset(d.strip().lower() for d in settings.mailin_domains.split(",") if d.strip())
    return MailPolicy(
        internal_domains=domains,
        create_people=settings.mailin_create_people,
        unsubscribe_address=settings.unsubscribe_mailto.strip().lower(),
    )


# What consent.gate.links puts in the mailto's subject: "unsubscribe <token>". Only that subject,
# whole: an out-of-office answering our mail ("Automatic reply: unsubscribe ...") is not a request.
# The token's alphabet is itsdangerous's (hex, dots, URL-safe base64); consent checks the rest.
_UNSUBSCRIBE_SUBJECT = re.compile(r"\s*unsubscribe\s+([A-Za-z0-9._-]{1,200})\s*", re.IGNORECASE)


@dataclass(slots=True)
class MailLogged:
    status: str  # logged | skipped | refused
    reason: str
    activities: int = 0
    people: list[str] = field(default_factory=list)


def log_mail(
    session: Session,
    raw: bytes,
    *,
    now: datetime,
    policy: MailPolicy,
    envelope_recipients: tuple[str, ...] = (),
    source: str = "mail",
) -> MailLogged:
    mail = parse(raw)
    if isinstance(mail, Refused):
        log.warning("mailin.refused", reason=mail.reason)
        return MailLogged("refused", mail.reason)
    if mail.kind is Kind.BOUNCE:
        return _bounced(session, mail, now=now, source=source)
    if policy.unsubscribe_address and policy.unsubscribe_address in (
        {a for _, a in mail.recipients} | set(envelope_recipients)
    ):
        return _unsubscribe(session, mail, now=now)
    if mail.kind is not Kind.PERSON:
        log.info("mailin.skipped", kind=mail.kind.value, why=mail.why, message_id=mail.message_id)
        return MailLogged(
            "skipped", f"{mail.kind.value.replace('_', ' ')}: {mail.why}; never counted as a reply"
        )
    meetings = _invitations(mail)
    policy = MailPolicy(
        policy.internal_domains, policy.create_people, policy.own_addresses | set(envelope_recipients)
    )
    ours = _internal(session, _addresses(mail, meetings), policy)
    if not (ours - policy.own_addresses):
        # Only a message a colleague is on is ours to log: a stranger writing straight to the BCC
        # address (spam, a mail bomb) creates nobody.
        return MailLogged("skipped", "nobody from the company is on this message")
    items = _mail_activities(mail, ours, now=now) + [
        _meeting(m, who, _sent(mail, now), fallback=_fingerprint(mail), now=now)
        for m in meetings
        for who in sorted({a for a in (m.organizer, *m.attendees) if a and a not in ours})
    ]
    if not items:
        return MailLogged("skipped", "nobody outside the company is in this message")
    if not policy.create_people:
        known = people_by_email(session, {a.email for a in items if a.email})
        items = [a for a in items if a.email in known]
        if not items:
            return MailLogged("skipped", "nobody in this message is a known person, and new people are off")
    _on_hottest_lead(session, items)
    result = ingest_activities(session, items, now=now, source=source)
    created = sum(1 for o in result.outcomes if o.status == "created")
    people = sorted({a.email for a in items if a.email})
    log.info("mailin.logged", message_id=mail.message_id, activities=created, people=len(people))
    return MailLogged("logged", f"{created} new activities", created, people)


def _addresses(mail: Mail, meetings: list[Meeting]) -> set[str]:
    out = {mail.sender[1], *(a for _, a in mail.recipients)}
    if mail.forwarded_from:
        out.add(mail.forwarded_from[1])
    for m in meetings:
        out.update(a for a in (m.organizer, *m.attendees) if a)
    return out


def _internal(session: Session, addresses: set[str], policy: MailPolicy) -> set[str]:
    """The addresses that are ours: staff users, their company's domain, our domains, the BCC address."""
    staff = set(session.scalars(sa.select(User.email).where(sa.func.lower(User.email).in_(addresses))))
    domains = set(policy.internal_domains) | ({e.rsplit("@", 1)[1] for e in staff} - FREE_DOMAINS)
    return {a for a in addresses if a in staff or a in policy.own_addresses or a.rsplit("@", 1)[1] in domains}


def _mail_activities(mail: Mail, ours: set[str], *, now: datetime) -> list[ActivityIn]:
    sender = mail.sender[1]
    if sender in ours and mail.forwarded_from and mail.forwarded_from[1] not in ours:
        # A rep forwarded a buyer's message: it is the buyer's reply, written by them.
        return [_activity("email_reply", "inbound", mail.forwarded_from, mail, now=now)]
    if sender in ours:
        return [
            _activity("email_sent", "outbound", who, mail, now=now)
            for who in mail.recipients
            if who[1] not in ours
        ]
    return [_activity("email_reply", "inbound", mail.sender, mail, now=now)]


def _activity(kind: str, direction: str, who: tuple[str, str], mail: Mail, *, now: datetime) -> ActivityIn:
    at = mail.sent_at if mail.sent_at is not None and mail.sent_at <= now + _FUTURE else now
    a = parse_activity(
        {
            "type": kind,
            "occurred_at": at.isoformat(),
            "direction": direction,
            "channel": "email",
            "email": who[1],
        },
        now=now,
    )
    a.payload = {
        "subject": mail.subject,
        "body": mail.body,
        "from": mail.sender[1],
        **({"message_id": mail.message_id} if mail.message_id else {}),
        **({"in_reply_to": list(mail.in_reply_to)} if mail.in_reply_to else {}),
        **({"name": who[0]} if who[0] else {}),
    }
    a.dedupe_key = "mail:" + _key(mail.message_id or _fingerprint(mail), who[1])
    return a


def _invitations(mail: Mail) -> list[Meeting]:
    out: list[Meeting] = []
    for data in mail.calendars:
        meetings = read_invite(data)
        if isinstance(meetings, str):
            log.warning("mailin.invite_refused", reason=meetings, message_id=mail.message_id)
            continue
        out.extend(m for m in meetings if not m.cancelled)
    return out


def _sent(mail: Mail, now: datetime) -> datetime:
    return mail.sent_at if mail.sent_at is not None and mail.sent_at <= now + _FUTURE else now


def _meeting(m: Meeting, who: str, at: datetime, *, fallback: str, now: datetime) -> ActivityIn:
    # The invitation is the touch: it counts when it was sent (booked), not when the meeting is.
    a = parse_activity(
        {"type": "meeting", "occurred_at": at.isoformat(), "channel": "meeting", "email": who}, now=now
    )
    a.payload = {
        "summary": m.summary,
        **({"starts_at": m.starts_at.isoformat()} if m.starts_at else {}),
        **({"organizer": m.organizer} if m.organizer else {}),
        "attendees": list(m.attendees[:20]),
        **({"recurring": True} if m.recurring else {}),
    }
    a.dedupe_key = "ics:" + _key(m.uid or fallback, who)
    return a


FEED_WINDOW = timedelta(days=60)
MAX_FEED_EVENTS = 2_000


def log_calendar(
    session: Session, data: bytes, *, now: datetime, policy: MailPolicy, source: str = "calendar"
) -> MailLogged:
    """A calendar feed (ICS): each meeting a colleague has with outside people, booked within
    FEED_WINDOW of now, becomes a `meeting` on each outside attendee. A recurring meeting is one
    meeting; polling the same feed again changes nothing (the key is the event's UID)."""
    meetings = read_invite(data, max_events=MAX_FEED_EVENTS)
    if isinstance(meetings, str):
        log.warning("calendar.refused", reason=meetings)
        return MailLogged("refused", meetings)
    recent = [
        m
        for m in meetings
        if not m.cancelled and m.starts_at is not None and abs(m.starts_at - now) <= FEED_WINDOW
    ]
    addresses = {a for m in recent for a in (m.organizer, *m.attendees) if a}
    ours = _internal(session, addresses, policy)
    items: list[ActivityIn] = []
    for m in recent:
        people = {a for a in (m.organizer, *m.attendees) if a}
        if not (people & ours):
            continue  # nobody from the company is in it
        booked = min(m.stamped_at or now, now)
        items.extend(_meeting(m, who, booked, fallback=m.summary, now=now) for who in sorted(people - ours))
    if not items:
        return MailLogged("skipped", "no meeting of a colleague with outside people in the window")
    if not policy.create_people:
        known = people_by_email(session, {a.email for a in items if a.email})
        items = [a for a in items if a.email in known]
    _on_hottest_lead(session, items)
    result = ingest_activities(session, items, now=now, source=source)
    created = sum(1 for o in result.outcomes if o.status == "created")
    return MailLogged(
        "logged", f"{created} new meetings", created, sorted({a.email for a in items if a.email})
    )


def _bounced(session: Session, mail: Mail, *, now: datetime, source: str) -> MailLogged:
    """An RFC 3464 report: each permanent failure is a hard bounce on the person who holds the
    address (consent suppresses it); a delay or a temporary failure records nothing (ADR 0031).
    Only for a message Leadloop sent to that address (its X-Leadloop-Key in the returned headers):
    anyone can mail a forged report to the mail-in address, naming anyone."""
    ours = outbox.recipients(session, mail.returned_keys)
    if any(b.permanent for b in mail.bounces) and not any(b.recipient in ours for b in mail.bounces):
        log.info("mailin.bounce_not_ours", message_id=mail.message_id, keys=len(mail.returned_keys))
        return MailLogged("skipped", "a delivery report about no message Leadloop sent there; ignored")
    events = [
        MailEvent(
            Report.BOUNCE,
            b.recipient,
            key=mail.message_id or _fingerprint(mail),
            occurred_at=_sent(mail, now),
            reason=" ".join(p for p in (b.status, b.diagnostic) if p)
            or "a delivery status notification said it failed",
        )
        for b in mail.bounces
        if b.permanent and b.recipient in ours
    ]
    done = record_mail_events(session, events, now=now, source=source, prefix="bounce")
    marked = done.recorded + done.duplicates
    log.info("mailin.bounce", message_id=mail.message_id, hard=len(events), known=marked)
    return MailLogged(
        "logged" if marked else "skipped",
        f"a bounce, never a reply; {marked} known addresses marked as hard bounces",
        done.recorded,
        done.people or [],
    )


def _unsubscribe(session: Session, mail: Mail, *, now: datetime) -> MailLogged:
    """A mail client's List-Unsubscribe mailto: consent checks the token and unsubscribes the
    person it names (in this transaction); without a token of that shape nothing changes."""
    found = _UNSUBSCRIBE_SUBJECT.fullmatch(mail.subject)
    if found is None:
        log.info("mailin.unsubscribe_without_token", message_id=mail.message_id)
        return MailLogged("skipped", "a message to the unsubscribe address without an unsubscribe token")
    publish(session, [UnsubscribeMailed(found.group(1), mail.sender[1], now)], now=now)
    return MailLogged("logged", "an unsubscribe request by mail, handed to consent to check its token")


def _on_hottest_lead(session: Session, items: list[ActivityIn]) -> None:
    """Each activity lands on the product of its account's hottest open lead, when it has one."""
    by_email = people_by_email(session, {a.email for a in items if a.email})
    accounts = {acct for _, acct in by_email.values() if acct is not None}
    if not accounts:
        return
    hottest: dict[int, str] = {}
    for account_id, product, _ in session.execute(
        sa.select(Lead.account_id, Lead.product, Lead.engagement_s)
        .where(Lead.account_id.in_(accounts), Lead.stage.in_([s.value for s in OPEN]))
        .order_by(Lead.engagement_s.desc(), Lead.id)
    ):
        hottest.setdefault(account_id, product)
    for a in items:
        link = by_email.get(a.email or "")
        if link and link[1] in hottest and a.product is None:
            a.product = hottest[link[1]]


def _key(message: str, who: str) -> str:
    return hashlib.sha256(f"{message}\x00{who}".encode()).hexdigest()[:40]


def _fingerprint(mail: Mail) -> str:
    return f"{mail.sender[1]}|{mail.subject}|{mail.sent_at}|{mail.body[:200]}"
