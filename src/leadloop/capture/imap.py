"""The shared-mailbox sync: for teams that don't BCC, Leadloop reads a mailbox over IMAP (polling)
and logs each message as mail-in does. What has been logged is marked on the server with the
keyword `$LeadloopLogged` (the mailbox's own \\Seen flags are left to the people who read it), and
each message is logged in its own transaction: a crash between logging and marking logs it again
at the next poll, and the activity's key (Message-ID and person) makes that a no-op."""

from __future__ import annotations

import contextlib
import imaplib
import re
from dataclasses import dataclass, field

from leadloop.capture.mailin import MailPolicy, log_mail
from leadloop.core.clock import Clock
from leadloop.core.logging import get_logger
from leadloop.store.db import Database

log = get_logger("leadloop.mailsync")

LOGGED = "$LeadloopLogged"
BATCH = 200  # messages a poll takes at most; the next poll takes the rest
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass(frozen=True, slots=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    address: str | None = None  # the mailbox's own address: never a person


@dataclass(slots=True)
class Synced:
    logged: int = 0
    skipped: int = 0
    refused: int = 0
    too_big: int = 0
    reasons: list[str] = field(default_factory=list)


def sync(db: Database, clock: Clock, box: Mailbox, policy: MailPolicy, *, max_bytes: int) -> Synced:
    """Log every message of the folder not logged before (at most BATCH a call)."""
    done = Synced()
    conn: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(box.host, box.port, timeout=30)
        if box.ssl
        else imaplib.IMAP4(box.host, box.port, timeout=30)
    )
    try:
        conn.login(box.user, box.password)
        status, _ = conn.select(box.folder)
        if status != "OK":
            raise ValueError(f"the mailbox has no folder {box.folder!r}")
        _, found = conn.uid("SEARCH", None, "UNKEYWORD", LOGGED)  # type: ignore[arg-type]
        raw_uids = (found[0] or b"").split()[:BATCH] if found and isinstance(found[0], bytes) else []
        uids = [u.decode() for u in raw_uids]
        own = frozenset({box.address.lower()}) if box.address else frozenset()
        for uid in uids:
            _, meta = conn.uid("FETCH", uid, "(RFC822.SIZE)")
            size = _size(meta)
            if size is None or size > max_bytes:
                done.too_big += 1
                done.reasons.append(f"UID {uid}: {size or '?'} bytes, at most {max_bytes:,}")
                log.warning("mailsync.too_big", uid=uid, size=size)
                conn.uid("STORE", uid, "+FLAGS", f"({LOGGED})")
                continue
            _, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if not isinstance(raw, bytes):
                continue
            with db.write() as session:
                result = log_mail(
                    session,
                    raw,
                    now=clock(),
                    policy=policy,
                    envelope_recipients=tuple(own),
                    source="mail",
                )
            setattr(done, result.status, getattr(done, result.status) + 1)
            if result.status != "logged":
                done.reasons.append(f"UID {uid}: {result.reason}")
            conn.uid("STORE", uid, "+FLAGS", f"({LOGGED})")
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()
    log.info("mailsync.done", logged=done.logged, skipped=done.skipped, refused=done.refused)
    return done


def _size(meta: list[object]) -> int | None:
    for part in meta:
        text = part[0] if isinstance(part, tuple) else part
        if isinstance(text, bytes) and (m := _SIZE.search(text)):
            return int(m.group(1))
    return None
