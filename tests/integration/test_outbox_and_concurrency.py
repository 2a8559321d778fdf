"""Notifications through a real SMTP server (aiosmtpd) and a real webhook receiver, exactly once
across a simulated crash; and routing exactly once under concurrency: many MQLs routed in
parallel by several workers, one owner each, evenly spread."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from leadloop.auth.handlers import create_user
from leadloop.jobs import outbox
from leadloop.routing.handlers import route_lead
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Lead, Outbox, RoutingDecision, User
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def hooks() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_email_and_webhook_go_out_once_even_across_a_crash(
    db: Database, smtp: tuple[Inbox, int], hooks: tuple[list[tuple[dict[str, str], bytes]], str]
) -> None:
    inbox, port = smtp
    got, url = hooks
    settings = Settings(
        smtp_port=port, webhook_url=url, webhook_secret="s3cret", public_url="https://ll.example"
    )
    # A crash before the commit: the change and its notification vanish together.
    with pytest.raises(RuntimeError), db.write() as s:
        outbox.email(
            s,
            "assigned:1",
            to="ann@x.io",
            subject="New lead",
            body="Acme is yours.",
            link="/leads/1",
            now=MONDAY,
        )
        raise RuntimeError("power cut")
    assert outbox.deliver(db, settings, now=MONDAY) == 0
    with db.write() as s:
        outbox.email(
            s,
            "assigned:1",
            to="ann@x.io",
            subject="New lead",
            body="Acme is yours.",
            link="/leads/1",
            now=MONDAY,
        )
        outbox.email(
            s, "assigned:1", to="ann@x.io", subject="New lead", body="again", now=MONDAY
        )  # same key: one
        outbox.webhook(
            s, "hook:1", "lead.assigned", {"lead_id": 1}, "New lead Acme", link="/leads/1", now=MONDAY
        )

    # A crash after claiming, before sending: the claim goes stale and the message still goes, once.
    def crash(*_: Any) -> None:
        raise ConnectionError("the worker died mid-send")

    assert outbox.deliver(db, settings, now=MONDAY, senders={"email": crash, "webhook": crash}) == 0
    assert outbox.deliver(db, settings, now=MONDAY + timedelta(seconds=10)) == 0  # backing off
    assert outbox.deliver(db, settings, now=MONDAY + timedelta(minutes=2)) == 2
    assert outbox.deliver(db, settings, now=MONDAY + timedelta(minutes=10)) == 0  # nothing twice
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "ann@x.io" and msg["Message-ID"] == outbox.message_id("assigned:1")
    assert msg["X-Leadloop-Key"] == "assigned:1"
    assert "https://ll.example/leads/1" in msg.get_payload()
    ((headers, body),) = got
    assert headers["x-leadloop-delivery"] == "hook:1"
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-leadloop-signature"] == expected
    assert json.loads(body)["text"] == "New lead Acme <https://ll.example/leads/1>"
    with db.read() as s:
        rows = {r.key: r for r in s.scalars(sa.select(Outbox))}
        assert rows["assigned:1"].attempts == 2 and "mid-send" in (rows["assigned:1"].last_error or "")


def test_slack_format_and_no_webhook_configured(
    db: Database, hooks: tuple[list[tuple[dict[str, str], bytes]], str]
) -> None:
    got, url = hooks
    with db.write() as s:
        outbox.webhook(s, "hook:2", "sla.breach", {"lead_id": 2}, ":rotating_light: SLA breached", now=MONDAY)
    assert outbox.deliver(db, Settings(webhook_url=url, webhook_format="slack"), now=MONDAY) == 1
    assert json.loads(got[0][1]) == {"text": ":rotating_light: SLA breached"}
    with db.write() as s:
        outbox.webhook(s, "hook:3", "sla.breach", {"lead_id": 3}, "x", now=MONDAY)
    assert outbox.deliver(db, Settings(webhook_url=None), now=MONDAY) == 0
    with db.read() as s:
        row = s.scalars(sa.select(Outbox).where(Outbox.key == "hook:3")).one()
        assert row.sent_at == MONDAY and row.last_error == "no webhook configured (LEADLOOP_WEBHOOK_URL)"
    with db.write() as s:  # e-mail switched off (the demo): settled with the reason, never retried
        outbox.email(s, "mail:off", to="a@x.io", subject="s", body="b", now=MONDAY)
    assert outbox.deliver(db, Settings(smtp_host=""), now=MONDAY) == 0
    with db.read() as s:
        row = s.scalars(sa.select(Outbox).where(Outbox.key == "mail:off")).one()
        assert row.sent_at == MONDAY and row.last_error == "no SMTP server configured (LEADLOOP_SMTP_HOST)"


POOL = """\
name: pool
version: 1
fallback: {queue: Sales inbox}
pools:
  all: {mode: round_robin, members: [%s]}
rules:
  - {name: everyone, assign: {pool: all}}
"""


def test_many_mqls_routed_in_parallel_get_one_owner_each_and_an_even_spread(db: Database) -> None:
    reps = [f"rep{i}@x.io" for i in range(4)]
    with db.write() as s:
        for email in reps:
            uid = create_user(s, email=email, name=email, role="rep", password=None, now=MONDAY)
            user = s.get(User, uid)
            assert user is not None
            user.working_hours = ALL_WEEK
        activate_rules(s, POOL % ", ".join(f"{{user: {e}}}" for e in reps), now=MONDAY)
        lead_ids = [add_mql(s, now=MONDAY, name=f"Parallel {i}") for i in range(80)]
    errors: list[BaseException] = []

    def worker(ids: list[int]) -> None:
        try:
            for lead_id in ids:  # every worker tries every lead: each must still be routed once
                for _attempt in range(20):
                    try:
                        with db.write() as s:
                            route_lead(s, lead_id, now=MONDAY)
                        break
                    except sa.exc.OperationalError as exc:  # PostgreSQL may pick a deadlock victim: retry
                        if "deadlock" not in str(exc):
                            raise
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(lead_ids[k::1] if k % 2 else lead_ids[::-1],)) for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with db.read() as s:
        owners = Counter(s.scalars(sa.select(User.email).join(Lead, Lead.owner_user_id == User.id)))
        decisions = Counter(
            s.scalars(sa.select(RoutingDecision.lead_id).where(RoutingDecision.reason == "mql"))
        )
    assert sum(owners.values()) == 80 and set(owners.values()) == {20}  # even, and nobody twice
    assert len(decisions) == 80 and set(decisions.values()) == {1}  # each lead routed exactly once
