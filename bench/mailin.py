"""bench/mailin.py: mail-in messages per second, parsed, matched and logged, beside a floor that
only parses the MIME (the standard library's parser, compat32, nothing else), in the same run.

Messages: a rep's mail to a known buyer (60%), a buyer's reply (30%), an out-of-office (10%), over
1,000 known people at 200 accounts. Three stages, each timed over the same messages:
  floor   email.message_from_bytes only
  parse   leadloop.capture.mail.parse (headers, kind, trimmed body)
  logged  log_mail in its own transaction per message, as the SMTP server does (SQLite)
  smtp    the same through a real SMTP connection to `leadloop mail-in` (aiosmtpd), end to end

    python bench/mailin.py [--messages 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.fixtures.mails import message

from _common import fresh_sqlite, median
from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.capture.mail import parse
from leadloop.capture.mailin import MailPolicy, log_mail
from leadloop.capture.model import parse_person
from leadloop.capture.smtp import start
from leadloop.core.clock import FrozenClock
from leadloop.settings import Settings

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def messages(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        buyer = f"buyer{i % 1000}@company{i % 200}.io"
        at = NOW - timedelta(minutes=n - i)
        body = "Hello,\n\nthanks for your time today; the quote is attached.\n\n-- \nRita\n" + "> old\n" * 20
        if i % 10 < 6:
            raw = message(sender="rita@ourco.io", to=[buyer], subject=f"Quote {i}", body=body, at=at)
        elif i % 10 < 9:
            raw = message(sender=buyer, to=["rita@ourco.io"], subject=f"Re: Quote {i}", body=body, at=at)
        else:
            raw = message(
                sender=buyer,
                to=["rita@ourco.io"],
                subject="Out of office",
                headers={"Auto-Submitted": "auto-replied"},
            )
        out.append(raw)
    return out


def world(path: Path):  # type: ignore[no-untyped-def]
    db = fresh_sqlite(path)
    with db.write() as s:
        create_user(s, email="rita@ourco.io", name="Rita", role="rep", password=None, now=NOW)
        h.ingest_people(
            s,
            [
                parse_person({"email": f"buyer{i}@company{i % 200}.io", "company": f"Company {i % 200}"})
                for i in range(1000)
            ],
            now=NOW,
            source="import",
        )
    return db


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    raws = messages(args.messages)
    results: dict[str, list[float]] = {"floor": [], "parse": [], "logged": [], "smtp": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            t = time.perf_counter()
            for raw in raws:
                message_from_bytes(raw, policy=policy.compat32)
            results["floor"].append(rate(len(raws), time.perf_counter() - t))

            t = time.perf_counter()
            for raw in raws:
                parse(raw)
            results["parse"].append(rate(len(raws), time.perf_counter() - t))

            db = world(Path(tmp) / f"logged{run}.db")
            t = time.perf_counter()
            for raw in raws:
                with db.write() as s:
                    log_mail(s, raw, now=NOW, policy=MailPolicy(), envelope_recipients=("log@in.ourco.io",))
            results["logged"].append(rate(len(raws), time.perf_counter() - t))

            db = world(Path(tmp) / f"smtp{run}.db")
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            controller = start(db, FrozenClock(NOW), Settings(), host="127.0.0.1", port=port)
            try:
                t = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                    for raw in raws:
                        c.sendmail("relay@ourco.io", ["log@in.ourco.io"], raw)
                results["smtp"].append(rate(len(raws), time.perf_counter() - t))
            finally:
                controller.stop()
    floor = median(results["floor"])
    print(f"mail-in, {args.messages} messages, median of {args.runs} runs (messages per second)")
    print(f"{'stage':<8} {'msg/s':>10} {'vs floor':>9}")
    for name, values in results.items():
        m = median(values)
        print(f"{name:<8} {m:>10,.0f} {m / floor:>9.3f}")


if __name__ == "__main__":
    main()
