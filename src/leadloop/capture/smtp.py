"""The BCC/forward address: an SMTP server (aiosmtpd) whose every accepted message is logged by
`mailin.log_mail`. Limits are enforced in the protocol, before a byte is stored: the SIZE of a
message (aiosmtpd's data_size_limit) and the number of recipients (a RCPT past the limit gets a
452, as RFC 5321 asks). A message the parser refuses gets a 550 with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.controller import Controller

from leadloop.capture.mailin import MailLogged, log_mail, policy_of
from leadloop.core.clock import Clock
from leadloop.core.logging import get_logger
from leadloop.settings import Settings
from leadloop.store.db import Database

log = get_logger("leadloop.mailin")


class MailIn:
    """The aiosmtpd handler: RCPT bounded, DATA logged in one transaction (off the event loop)."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy_of(settings)
        self.max_recipients = settings.mailin_max_recipients
        listed = {a.strip().lower() for a in settings.mailin_addresses.split(",") if a.strip()}
        if listed and self.policy.unsubscribe_address:
            # The List-Unsubscribe mailto's mailbox is ours too, when mail-in is where it is delivered.
            listed.add(self.policy.unsubscribe_address)
        self.addresses = frozenset(listed)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients})"
        if self.addresses and address.strip().lower() not in self.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
        try:
            done = await asyncio.to_thread(self.log, data, tuple(a.lower() for a in envelope.rcpt_tos))
        except Exception:  # a fault of ours: the sender keeps it and retries later
            log.exception("mailin.failed")
            return "451 4.3.0 Temporary failure, please retry"
        if done.status == "refused":
            return f"550 5.6.0 {done.reason[:200]}"
        return f"250 OK {done.reason[:100]}"

    def log(self, raw: bytes, rcpt: tuple[str, ...]) -> MailLogged:
        # Whatever was addressed to this server is the BCC box (log_mail never takes it for a person).
        with self.db.write() as session:
            return log_mail(session, raw, now=self.clock(), policy=self.policy, envelope_recipients=rcpt)


def start(db: Database, clock: Clock, settings: Settings, *, host: str, port: int) -> Controller:
    controller = Controller(
        MailIn(db, clock, settings),
        hostname=host,
        port=port,
        data_size_limit=settings.mailin_max_bytes,
        decode_data=False,
    )
    controller.start()
    return controller
