"""The transactional outbox. A notification is a row written in the same transaction as the change
that causes it, so a crash before the commit loses both and a crash after it loses neither. The
deliverer claims rows like timers, sends, and marks them sent; a failed send is retried with
backoff. The row's key travels as the e-mail's Message-ID and the webhook's delivery id, so a
receiver can drop the one resend a crash between sending and marking could cause."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import smtplib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.logging import get_logger
from leadloop.core.mailpolicy import POLICY
from leadloop.jobs.announce import announcer
from leadloop.settings import Settings
from leadloop.store.bulk import insert_ignore, insert_new
from leadloop.store.db import Database
from leadloop.store.tables import Outbox

log = get_logger("leadloop.outbox")
OUTBOX: sa.Table = Outbox.__table__  # type: ignore[assignment]


def enqueue(session: Session, key: str, channel: str, payload: dict[str, Any], *, now: datetime) -> None:
    """Idempotent: the same key twice is one message (and one job of the engine, when it runs)."""
    row = {
        "key": key,
        "channel": channel,
        "payload": payload,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }
    engine = announcer(session)
    if engine is None:
        insert_ignore(session, OUTBOX, [row], ["key"])
    elif insert_new(session, OUTBOX, [row], ["key"], ["key"]):
        engine.messages(session, [(key, now)])


def recipients(session: Session, keys: Sequence[str]) -> set[str]:
    """The addresses the e-mails with these keys were sent to (lower case): what a delivery report
    that returns one of them may speak for."""
    if not keys:
        return set()
    rows = session.execute(
        sa.select(OUTBOX.c.payload).where(OUTBOX.c.key.in_(list(keys)), OUTBOX.c.channel == "email")
    )
    return {str(p.get("to") or "").strip().lower() for (p,) in rows if isinstance(p, dict)}


def cancel(session: Session, keys: Sequence[str], *, reason: str, now: datetime, scrub: bool = False) -> int:
    """Settle these messages unsent, with the reason (a recipient who unsubscribed after the step
    queued it): a sweep that has not sent one yet never will (one mid-send may still arrive). `scrub` also empties the
    payloads, sent or not (an erased person: no address or body of theirs stays). Returns how many
    were still waiting."""
    if not keys:
        return 0
    waiting = 0
    for chunk in (list(keys)[i : i + 500] for i in range(0, len(keys), 500)):
        waiting += len(
            session.execute(
                OUTBOX.update()
                .where(OUTBOX.c.key.in_(chunk), OUTBOX.c.sent_at.is_(None))
                .values(sent_at=now, last_error=f"cancelled: {reason}"[:1000])
                .returning(OUTBOX.c.id)
            ).all()
        )
        if scrub:
            session.execute(OUTBOX.update().where(OUTBOX.c.key.in_(chunk)).values(payload={}))
    return waiting


def email(
    session: Session,
    key: str,
    *,
    to: str,
    subject: str,
    body: str,
    now: datetime,
    link: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """`link` is a path in the app; the deliverer makes it absolute with LEADLOOP_PUBLIC_URL.
    `headers` go on the message as given (List-Unsubscribe: consent/gate.py); the e-mail library
    folds them to the line limits when it writes the message."""
    payload: dict[str, Any] = {"to": to, "subject": subject, "body": body, "link": link}
    if headers:
        payload["headers"] = headers
    enqueue(session, key, "email", payload, now=now)


def webhook(
    session: Session,
    key: str,
    event: str,
    data: dict[str, Any],
    text: str,
    *,
    now: datetime,
    link: str | None = None,
) -> None:
    """Delivered when LEADLOOP_WEBHOOK_URL is set; otherwise settled as not configured."""
    enqueue(session, key, "webhook", {"event": event, "data": data, "text": text, "link": link}, now=now)


def _url(settings: Settings, link: str | None) -> str:
    return f"{settings.public_url.rstrip('/')}{link}" if link else ""


def message_id(key: str) -> str:
    """The same key always gives the same Message-ID, so a receiver can drop a resend."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@leadloop>"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class NotConfigured(Exception):
    """Nothing to deliver to: the message is settled with the reason, not retried."""


def send_email(settings: Settings, key: str, payload: dict[str, Any]) -> None:
    if not settings.smtp_host:
        raise NotConfigured("no SMTP server configured (LEADLOOP_SMTP_HOST)")
    msg = EmailMessage(policy=POLICY)  # List-Unsubscribe folds between its URIs, never encoded
    # A sequence's e-mail is sent in a person's name (`from`), with replies to them (`reply_to`).
    msg["From"] = payload.get("from") or settings.mail_from
    msg["To"], msg["Subject"] = payload["to"], payload["subject"]
    if payload.get("reply_to"):
        msg["Reply-To"] = payload["reply_to"]
    msg["Message-ID"] = message_id(key)
    msg["X-Leadloop-Key"] = key
    for name, value in (payload.get("headers") or {}).items():
        msg[name] = value
    url = _url(settings, payload.get("link"))
    msg.set_content(payload["body"] + (f"\n\n{url}\n" if url else "\n"))
    if payload.get("html"):  # multipart/alternative: the text first, the HTML as the richer part
        msg.add_alternative(payload["html"], subtype="html")
    connection = _OPEN.get()
    if connection is not None:  # a batch keeps one connection (deliver opens and closes it)
        connection.send(settings, msg)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)


class Connection:
    """One SMTP connection for a batch of messages, opened at the first and reopened after an
    error (the next message then gets a fresh one): a new connection per message costs a third.
    Likewise one HTTP client for the batch's webhooks (a new client loads the CA bundle again: 40
    ms a message, against a millisecond with keep-alive)."""

    def __init__(self, http: httpx.Client | None = None) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.http: httpx.Client | None = http

    def client(self) -> httpx.Client:
        if self.http is None:
            self.http = httpx.Client(timeout=10)
        return self.http

    def send(self, settings: Settings, msg: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
        try:
            self.smtp.send_message(msg)
        except Exception:
            self.close()
            raise

    def close_mail(self) -> None:
        """Quit the SMTP connection and keep the HTTP client (the engine's worker shares one client
        across its jobs; an SMTP server drops idle connections, so none is kept idle)."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # a connection that already broke: nothing to say goodbye to
                self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        self.close_mail()
        if self.http is not None:
            self.http.close()
            self.http = None


_OPEN: contextvars.ContextVar[Connection | None] = contextvars.ContextVar("leadloop_smtp", default=None)


def send_webhook(settings: Settings, key: str, payload: dict[str, Any]) -> None:
    if not settings.webhook_url:
        raise NotConfigured("no webhook configured (LEADLOOP_WEBHOOK_URL)")
    url = _url(settings, payload.get("link"))
    text = payload["text"] + (f" <{url}>" if url else "")
    body_obj = (
        {"text": text}
        if settings.webhook_format == "slack"
        else {"id": key, **payload, "text": text, "url": url}
    )
    body = json.dumps(body_obj, separators=(",", ":"), default=str).encode()
    headers = {
        "content-type": "application/json",
        "x-leadloop-delivery": key,
        "x-leadloop-signature": signature(settings.webhook_secret, body),
    }
    connection = _OPEN.get()
    if connection is not None:  # a batch keeps one client (deliver opens and closes it)
        connection.client().post(settings.webhook_url, content=body, headers=headers).raise_for_status()
        return
    httpx.post(settings.webhook_url, content=body, headers=headers, timeout=10).raise_for_status()


Sender = Callable[[Settings, str, dict[str, Any]], None]
SENDERS: dict[str, Sender] = {"email": send_email, "webhook": send_webhook}


def deliver(
    db: Database,
    settings: Settings,
    *,
    now: datetime,
    limit: int = 100,
    senders: dict[str, Sender] | None = None,
    stale_after: timedelta = timedelta(minutes=5),
    due_before: datetime | None = None,
) -> int:
    """Send what is due (one batch of at most `limit`); return how many were sent. `due_before`
    takes only messages due before then (the job engine's backstop: those long overdue)."""
    return _deliver(
        db, settings, now=now, limit=limit, senders=senders, stale_after=stale_after, due_before=due_before
    )[1]


def deliver_all(db: Database, settings: Settings, *, now: datetime, limit: int = 100) -> int:
    """Batches until nothing due is left (each message is sent, settled or put off for later, so
    this ends); return how many were sent."""
    sent = 0
    while True:
        claimed, n = _deliver(
            db, settings, now=now, limit=limit, senders=None, stale_after=timedelta(minutes=5)
        )
        sent += n
        if claimed < limit:
            return sent


def deliver_key(
    db: Database,
    settings: Settings,
    key: str,
    *,
    now: datetime,
    senders: dict[str, Sender] | None = None,
    via: Connection | None = None,
) -> int:
    """Send the one message with this key if it still waits (the job engine's job for it, ADR
    0042); return 1 if it was sent. The engine runs one job per key at a time; the row lock keeps
    a sweeper on the same table out while it is claimed."""
    with db.write() as session:
        query = sa.select(
            OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.channel, OUTBOX.c.payload, OUTBOX.c.attempts
        ).where(
            OUTBOX.c.key == key,
            OUTBOX.c.sent_at.is_(None),
            OUTBOX.c.attempts < settings.outbox_max_attempts,
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        rows = session.execute(query).all()
        if rows:
            session.execute(OUTBOX.update().where(OUTBOX.c.id == rows[0].id).values(claimed_at=now))
    if not rows:
        return 0  # sent, settled or given up on already
    connection = via or Connection()
    token = _OPEN.set(connection)
    try:
        return _send_rows(db, settings, rows, senders or SENDERS, now=now)
    finally:
        _OPEN.reset(token)
        if via is None:
            connection.close()
        else:
            connection.close_mail()


def _deliver(
    db: Database,
    settings: Settings,
    *,
    now: datetime,
    limit: int,
    senders: dict[str, Sender] | None,
    stale_after: timedelta,
    due_before: datetime | None = None,
) -> tuple[int, int]:
    senders = senders or SENDERS
    with db.write() as session:
        query = (
            sa.select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.channel, OUTBOX.c.payload, OUTBOX.c.attempts)
            .where(
                OUTBOX.c.sent_at.is_(None),
                OUTBOX.c.next_attempt_at <= (now if due_before is None else due_before),
                OUTBOX.c.attempts < settings.outbox_max_attempts,
                sa.or_(OUTBOX.c.claimed_at.is_(None), OUTBOX.c.claimed_at < now - stale_after),
            )
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if rows:
            session.execute(
                OUTBOX.update().where(OUTBOX.c.id.in_([r.id for r in rows])).values(claimed_at=now)
            )
    connection = Connection()
    token = _OPEN.set(connection)
    try:
        sent = _send_rows(db, settings, rows, senders, now=now)
    finally:
        _OPEN.reset(token)
        connection.close()
    return len(rows), sent


def _send_rows(
    db: Database, settings: Settings, rows: Sequence[Any], senders: dict[str, Sender], *, now: datetime
) -> int:
    sent = 0
    for r in rows:
        try:
            senders[r.channel](settings, r.key, r.payload)
        except NotConfigured as exc:  # nothing to deliver to: settled, with the reason kept
            with db.write() as session:
                session.execute(
                    OUTBOX.update().where(OUTBOX.c.id == r.id).values(sent_at=now, last_error=str(exc))
                )
            continue
        except Exception as exc:  # the receiver is down or refuses: try again later
            wait = timedelta(seconds=min(3600, 30 * 2**r.attempts))
            with db.write() as session:
                session.execute(
                    OUTBOX.update()
                    .where(OUTBOX.c.id == r.id)
                    .values(
                        attempts=r.attempts + 1,
                        next_attempt_at=now + wait,
                        claimed_at=None,
                        last_error=f"{type(exc).__name__}: {exc}"[:1000],
                    )
                )
                engine = announcer(session)
                if engine is not None and r.attempts + 1 < settings.outbox_max_attempts:
                    engine.messages(session, [(r.key, now + wait)])
            log.warning(
                "outbox.retry", key=r.key, channel=r.channel, attempt=r.attempts + 1, error=str(exc)[:200]
            )
            continue
        with db.write() as session:
            session.execute(
                OUTBOX.update().where(OUTBOX.c.id == r.id).values(sent_at=now, attempts=r.attempts + 1)
            )
        sent += 1
    return sent
