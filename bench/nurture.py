"""bench/nurture.py: issue 14's speed claims, each beside a floor measured in the same run.

Segments (item 1), on SQLite:
1. Full rebuild of one segment over 1M people (target <= 2 s): the first build (everyone who
   qualifies enters), a rebuild with nothing changed, and one after 1% of the people changed
   country. Floors: the bare `SELECT count(*)` of the same compiled query, and a bare
   `INSERT INTO temp SELECT` of the same ids (what any set-based rebuild must at least do).
2. The event-driven update of one person (target <= 10 ms): `refresh_people` for one person over
   every live segment (here 5, of every kind), p50 and p99 over a few hundred people, inside a
   write transaction as a capture's reaction runs. Floor: the bare per-person queries of the same
   segments.

Sequences (item 2) and consent (item 4), on SQLite:
3. 100,000 due steps sent through the outbox to a local SMTP server (target: step lateness p99
   <= 60 s behind the due time). N people who consented (imported with `email_opt_in` true, the
   product's bulk door), an active one-e-mail sequence with a send window open all day, everyone
   enrolled (`nurture.handlers.enrol`, 10,000 at a time) at one due moment; then the real worker
   (`Worker` with `timer_handlers(settings)`) sweeps, back to back, until an aiosmtpd server (in
   its own process, so it does not share the worker's interpreter) has received all N. Each
   message's lateness is its arrival at the SMTP server minus its due time (the worker's clock is
   set so that the steps fall due the moment it starts). Checked: exactly N messages, one per
   person, no key twice. Floor: the same N messages, as large, built with EmailMessage and sent
   straight with smtplib over one connection to the same server.
4. One-click unsubscribe (RFC 8058) to effect: `leadloop serve --no-sweeper` on SQLite with
   N people each enrolled in two sequences; `POST /u/{token}` with the body
   `List-Unsubscribe=One-Click`, p50 and p99 over a few hundred people, one at a time; after each
   answer (not timed) the bench checks that the person's consent is withdrawn for every type and
   their enrolments are ended with their timers settled, i.e. the effect was inside the request.
   Floor: `GET /healthz` on the same server, interleaved at the same pace.

    python bench/nurture.py [--only segments,sends,unsubscribe] [--people 1000000]
        [--sends 100000] [--unsub-people 10000] [--unsub-samples 300] [--profile FILE]
        [--db /tmp/nurture-bench.db] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import inspect
import multiprocessing
import os
import platform
import random
import re
import shutil
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, median, pct, timer
from capture import free_port
from leadloop.bootstrap import session_info, timer_handlers
from leadloop.capture.importer import run_import
from leadloop.consent import tokens
from leadloop.consent.decision import Reason
from leadloop.consent.gate import may_send
from leadloop.consent.policy import policy_of
from leadloop.core.clock import utcnow
from leadloop.core.mailpolicy import POLICY
from leadloop.documents import handlers as documents
from leadloop.jobs.outbox import deliver
from leadloop.jobs.worker import Worker
from leadloop.nurture import handlers as nurture
from leadloop.nurture.kind import SEQUENCES
from leadloop.nurture.repository import STEP_TIMER, subject
from leadloop.scoring.decay import Decaying, decay_rate
from leadloop.segments import handlers as seg
from leadloop.segments.compile import P, members_select
from leadloop.segments.membership import Built, _per_person, refresh_people
from leadloop.segments.model import Definition
from leadloop.segments.parse import parse_definition
from leadloop.segments.repository import live_segments, rate_now
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.tables import Enrolment, Outbox, Person, Timer

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
RATE = decay_rate(30.0)  # the shipped model's half-life
COUNTRIES = ["DE", "AT", "CH", "FR", "GB", "US", "NL", "SE", "ES", "IT"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Finance", "Health", "Logistics"]
SENIORITY = ["C-Level", "VP", "Director", "Manager", "Individual", None]
TITLES = ["CTO", "VP Sales", "Head of IT", "Data Engineer", "Marketing Manager", "Analyst", None]
TYPES = [
    "page_view",
    "pricing_page_view",
    "content_download",
    "webinar_attended",
    "email_open",
    "form_submit",
]
STAGES = ["inquiry", "mql", "nurture", "recycled", "sal", "won", "lost"]
TS = "%Y-%m-%d %H:%M:%S.%f"

# The segment whose rebuild is timed: firmographics, scores, consent and behaviour in a window.
BENCH_SEGMENT = {
    "match": {
        "all": [
            {"field": "account.country", "op": "in", "value": ["DE", "AT", "CH", "FR", "GB"]},
            {"not": {"field": "consent.email", "op": "is", "value": "opted_out"}},
            {
                "any": [
                    {"field": "fit", "op": ">=", "value": 50},
                    {"did": "pricing_page_view", "at_least": 2, "within_days": 14},
                    {"field": "engagement", "op": ">=", "value": 20},
                ]
            },
        ]
    }
}
# The other live segments a one-person update also decides.
OTHERS = {
    "Pricing twice in 14 days": {"match": {"did": "pricing_page_view", "at_least": 2, "within_days": 14}},
    "Downloads, never a webinar": {
        "match": {"all": [{"did": "content_download"}, {"not": {"did": "webinar_attended"}}]}
    },
    "Recycled leads": {"match": {"lead": {"stage": ["recycled", "nurture"]}}},
    "Senior in software": {
        "match": {
            "all": [
                {"field": "person.seniority", "op": "in", "value": ["C-Level", "VP", "Director"]},
                {"field": "account.industry", "op": "=", "value": "Software"},
            ]
        }
    },
}


def build_world(path: Path, n_people: int, seed: int = 14) -> None:
    """A warehouse of n_people across n_people/10 accounts, ~1.5 activities each over 60 days and a
    lead on a fifth of the accounts, written straight through sqlite3 (the bench times segments,
    not capture)."""
    db = fresh_sqlite(path)
    db.dispose()
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    n_accounts = max(1, n_people // 10)
    stamp = "2026-01-01 00:00:00.000000"
    conn.executemany(
        "INSERT INTO accounts (id, name, name_key, country, industry, employees, attributes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        (
            (
                i,
                f"Acme {i}",
                f"acme {i}",
                rnd.choice(COUNTRIES),
                rnd.choice(INDUSTRIES),
                rnd.randint(1, 5000),
                stamp,
                stamp,
            )
            for i in range(1, n_accounts + 1)
        ),
    )
    t_now = NOW.timestamp()

    def person(i: int) -> tuple[object, ...]:
        s = rnd.choice((0.0, 0.0, 5.0, 15.0, 40.0, 120.0))
        t0 = t_now - rnd.uniform(0, 60 * 86400)
        key = Decaying(s, t0).rank_key(RATE)
        opt = rnd.choice((None, True, True, False))
        return (
            i,
            rnd.randint(1, n_accounts),
            f"p{i}@acme{i % n_accounts}.example",
            rnd.choice(COUNTRIES),
            rnd.choice(TITLES),
            rnd.choice(SENIORITY),
            round(rnd.uniform(0, 100), 1),
            rnd.choice("ABCD"),
            None if opt is None else int(opt),
            s,
            t0,
            key,
            stamp,
            stamp,
        )

    conn.executemany(
        "INSERT INTO people (id, account_id, email, country, title, seniority, fit_score, grade, email_opt_in,"
        " engagement_s, engagement_t0, engagement_key, attributes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        (person(i) for i in range(1, n_people + 1)),
    )

    def activities() -> Iterator[tuple[object, ...]]:
        n = 0
        for pid in range(1, n_people + 1):
            for _ in range(rnd.choice((0, 1, 1, 2, 3))):
                n += 1
                at = (NOW - timedelta(seconds=rnd.uniform(0, 60 * 86400))).strftime(TS)
                yield (n, f"b{n}", pid, rnd.choice(TYPES), at, stamp)

    conn.executemany(
        "INSERT INTO activities (id, dedupe_key, person_id, type, occurred_at, recorded_at, source, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, 'bench', '{}')",
        activities(),
    )
    conn.execute(
        "INSERT INTO teams (id, name, is_queue, created_at) VALUES (1, 'Marketing nurture', 1, ?)", (stamp,)
    )
    conn.executemany(
        "INSERT INTO leads (account_id, product, stage, owner_team_id, opened_at, stage_changed_at, last_activity_at,"
        " activity_count, contact_count, engagement_s, engagement_t0, engagement_key, buying_roles)"
        " VALUES (?, 'general', ?, 1, ?, ?, ?, 0, 0, 0, 0, -1e300, '[]')",
        ((a, rnd.choice(STAGES), stamp, stamp, stamp) for a in range(1, n_accounts + 1, 5)),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def floor_count(db: Database, definition: Definition) -> float:
    with db.read() as s, timer() as took:
        query = members_select(definition, now=NOW, rate=rate_now(s))
        s.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return took()


def floor_insert(db: Database, definition: Definition) -> float:
    """The same ids into a temporary table, and nothing else."""
    with db.write() as s:
        conn = s.connection()
        conn.exec_driver_sql("CREATE TEMP TABLE floor_ids (person_id INTEGER PRIMARY KEY)")
        with timer() as took:
            query = members_select(definition, now=NOW, rate=rate_now(s))
            conn.execute(
                sa.insert(sa.table("floor_ids", sa.column("person_id"))).from_select(["person_id"], query)
            )
        conn.exec_driver_sql("DROP TABLE floor_ids")
    return took()


def _drop_segments(db: Database, ids: list[int]) -> None:
    with db.write() as s:
        for table in ("segment_changes", "segment_members"):  # fixed names
            s.execute(
                sa.text(f"DELETE FROM {table} WHERE segment_id IN (SELECT value FROM json_each(:i))"),  # noqa: S608
                {"i": str(ids)},
            )
        s.execute(
            sa.text("DELETE FROM segments WHERE id IN (SELECT value FROM json_each(:i))"), {"i": str(ids)}
        )


def bench_rebuild(db: Database, n_people: int, runs: int = 3) -> int:
    """Each figure is the median of `runs` (the machine is shared: the spread is printed too)."""
    definition = parse_definition(BENCH_SEGMENT)
    counts = [floor_count(db, definition) for _ in range(runs)]
    inserts = [floor_insert(db, definition) for _ in range(runs)]
    firsts: list[Built] = []
    for i in range(runs):  # the first build of the same definition, three times over
        with db.write() as s:
            firsts.append(
                seg.create_segment(
                    s, name=f"Bench: DACH, FR, GB fit or pricing #{i}", definition=definition, now=NOW
                ).built
            )
    segment_id = firsts[0].segment_id
    _drop_segments(db, [b.segment_id for b in firsts[1:]])
    steady: list[Built] = []
    for _ in range(runs):
        with db.write() as s:
            steady.append(seg.rebuild_segment(s, segment_id, now=NOW).built)
    # 1% of the people get another fit behind the segment's back (as a new model would), then a rebuild.
    churn: list[Built] = []
    rnd = random.Random(7)
    for _ in range(runs):
        with db.write() as s:
            ids = rnd.sample(range(1, n_people + 1), max(1, n_people // 100))
            s.execute(
                sa.text(
                    "UPDATE people SET fit_score = 100 - fit_score WHERE id IN (SELECT value FROM json_each(:ids))"
                ),
                {"ids": "[" + ",".join(map(str, ids)) + "]"},
            )
        with db.write() as s:
            churn.append(seg.rebuild_segment(s, segment_id, now=NOW).built)
    floor = statistics.median(inserts)
    print(
        f"segment rebuild over {n_people:,} people on SQLite ({firsts[0].size:,} members; target <= 2 s;"
        f" median of {runs}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"  floor: bare SELECT count(*) of the same query   {_spread(counts)}")
    print(f"  floor: bare INSERT of the same ids into a temp  {_spread(inserts)}")
    for label, built in (
        ("first build", firsts),
        ("rebuild, nothing changed", steady),
        ("rebuild after 1% changed fit", churn),
    ):
        seconds = [b.ms / 1000 for b in built]
        print(
            f"  {label:<28} {_spread(seconds)}  ({statistics.median(seconds) / floor:4.2f}x the insert floor;"
            f" {built[-1].entered:,} in, {built[-1].left:,} out)"
        )
    return int(segment_id)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def bench_one_person(db: Database, n_people: int, samples: int = 300) -> None:
    with db.write() as s:
        for name, doc in OTHERS.items():
            seg.create_segment(s, name=name, definition=parse_definition(doc), now=NOW)
    rnd = random.Random(11)
    people = rnd.sample(range(1, n_people + 1), samples)
    with db.read() as s:
        live = live_segments(s)
        rate = rate_now(s)
    # Floors: the person's row by primary key, and the one statement that decides every segment
    # for them (compiled once, as refresh_people runs it), without the difference or the writes.
    union, queries = _per_person(tuple((one.id, one.definition) for one in live))
    values = {k: v for q in queries for k, v in q.params(NOW, rate).items()}
    row_floor: list[float] = []
    decide_floor: list[float] = []
    for pid in people:
        with db.read() as s:
            conn = s.connection()
            with timer() as took:
                conn.execute(sa.select(P).where(P.c.id == pid)).all()
            row_floor.append(took() * 1000)
            with timer() as took:
                conn.execute(union, {**values, "ids": [pid]}).all()
            decide_floor.append(took() * 1000)
    updates: list[float] = []
    moved = 0
    for pid in people:
        with db.write() as s:  # a new fit, as a rescore after an edit writes it
            s.execute(sa.text("UPDATE people SET fit_score = 100 - fit_score WHERE id = :i"), {"i": pid})
            with timer() as took:
                moved += bool(refresh_people(s, [pid], now=NOW))
            updates.append(took() * 1000)
    print(
        f"one person's event-driven update over {len(live)} live segments (target <= 10 ms;"
        f" {moved} of {len(people)} people entered or left one)"
    )
    for label, took_ms in (
        ("the person's row by key", row_floor),
        ("the bare deciding SELECT", decide_floor),
    ):
        _line(f"floor: {label}", took_ms)
    _line("refresh_people (decide, diff, write)", updates)


def _line(label: str, took_ms: list[float]) -> None:
    print(f"  {label:<38} p50 {median(took_ms):6.2f} ms   p99 {pct(took_ms, 99):6.2f} ms")


def bench_segments(path: Path, n_people: int, *, keep: bool) -> None:
    if not (keep and path.exists()):
        with timer() as took:
            build_world(path, n_people)
        print(f"(built a world of {n_people:,} people in {took():.0f} s)")
    engine = make_engine(f"sqlite:///{path}")
    db = Database(engine, info=session_info())
    with db.write() as s:  # a kept world: start from no segments
        for table in ("segment_changes", "segment_members", "segments"):
            s.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        s.execute(sa.text("DELETE FROM timers WHERE kind = 'segment_refresh'"))
    bench_rebuild(db, n_people)
    bench_one_person(db, n_people)
    db.dispose()


# Sequences and consent: the outbox to a real SMTP server, and the one-click unsubscribe.
# The window is open every day but its last minute (its end is exclusive; 24:00 is not a time): a
# run that crosses 23:59 UTC would see its steps wait for the next day.
SEND_SEQUENCE = """\
name: bench-send
version: 1
triggers: {}
re_entry: never
window: {days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "23:59", skip_holidays: false}
sender: {name: Priya Patel, email: priya@ourco.io}
from: sender
steps:
  - id: hello
    email:
      subject: "Hello {{ first_name | default('there') }}"
      text: |
        Hi {{ first_name | default("there") }},

        a short note from us, with one link: https://ourco.io/guide
"""
POSTAL = "Ourco Ltd, 1 Main Street, Springfield"
BENCH_KEY = "bench-nurture-secret-key-0123456789abcdef"  # signs the tokens; the server is given it
KEY_HEADER = re.compile(rb"^X-Leadloop-Key: *(\S+)", re.MULTILINE)


def send_settings(db_path: Path, smtp_port: int = 25) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db_path}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_postal_address=POSTAL,
        secret_key=BENCH_KEY,
        retrain_every_days=0,
    )


def consenting_world(path: Path, n: int, settings: Settings, sequences: tuple[str, ...]) -> Database:
    """n people who ticked the e-mail opt-in, imported from a CSV as a customer would bring them
    (capture, identity, scoring and consent's reactions all run), and the sequences activated."""
    fresh_sqlite(path).dispose()
    db = Database(make_engine(settings.database_url), info=session_info(settings))
    csv_path = path.with_suffix(".csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "email", "first_name", "company", "email_opt_in"])
        w.writerows(
            [f"b{i}", f"p{i}@acme{i % 5000}.example", f"P{i}", f"Acme {i % 5000}", "true"]
            for i in range(1, n + 1)
        )
    report = run_import(db, "people", csv_path, now=utcnow, rejects_file=False)
    if report.created != n:
        raise SystemExit(f"the import created {report.created:,} people of {n:,}: {report.summary()}")
    with db.write() as s:
        for name in sequences:
            text = SEND_SEQUENCE.replace("name: bench-send", f"name: {name}")
            draft = documents.save_draft(s, SEQUENCES, text, now=utcnow())
            documents.activate(s, SEQUENCES, draft.id, now=utcnow())
    return db


def enrol_everyone(db: Database, sequence: str, *, now: datetime) -> int:
    with db.read() as s:
        people = [int(p) for p in s.scalars(sa.select(Person.id).order_by(Person.id))]
    enrolled = 0
    for start in range(0, len(people), nurture.MAX_BULK):
        with db.write() as s:
            done = nurture.enrol(
                s,
                sequence,
                [(p, None) for p in people[start : start + nurture.MAX_BULK]],
                trigger="manual",
                now=now,
            )
        if done.refused:
            raise SystemExit(f"enrolment refused {len(done.refused)} people, e.g. {done.refused[:3]}")
        enrolled += len(done.enrolled)
    return enrolled


class _Sink:
    """An aiosmtpd handler that notes each message's arrival (wall clock), recipient and key."""

    def __init__(self, count: Any) -> None:
        self.count = count
        self.got: list[tuple[float, str, bytes]] = []
        self.sample: bytes = b""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        content = envelope.original_content or envelope.content
        found = KEY_HEADER.search(content)
        self.got.append((at, envelope.rcpt_tos[0].lower(), found.group(1) if found else b""))
        if not self.sample:
            self.sample = content
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def _sink_process(port: int, count: Any, conn: Any) -> None:
    """The SMTP server, in its own process: it answers `dump` (what arrived since the last dump, and
    one message as it came) and `stop`."""
    sink = _Sink(count)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    while (command := conn.recv()) != "stop":
        assert command == "dump"
        got, sink.got = sink.got, []
        conn.send((got, sink.sample))
    controller.stop()


class SmtpSink:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.count = ctx.Value("q", 0)
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sink_process, args=(self.port, self.count, child), daemon=True)
        self._proc.start()
        if not self._conn.poll(60) or self._conn.recv() != "ready":
            raise SystemExit("the SMTP server did not start")

    @property
    def received(self) -> int:
        return int(self.count.value)

    def dump(self) -> tuple[list[tuple[float, str, bytes]], bytes]:
        self._conn.send("dump")
        got, sample = self._conn.recv()
        with self.count.get_lock():
            self.count.value = 0
        return got, sample

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(30)


def _lateness_line(label: str, n: int, secs: float, late: list[float], floor_rate: float | None) -> None:
    rate = n / secs
    ratio = f"   {floor_rate / rate:5.1f}x slower than the floor" if floor_rate else ""
    print(
        f"  {label:<34} {secs:8.1f} s  {rate:8,.0f} msg/s   lateness p50 {median(late):7.1f} s"
        f"  p99 {pct(late, 99):7.1f} s  max {max(late):7.1f} s{ratio}"
    )


def _check_arrivals(got: list[tuple[float, str, bytes]], n: int, what: str) -> None:
    people = {to for _, to, _ in got}
    keys = {key for _, _, key in got}
    if not (len(got) == n and len(people) == n and len(keys) == n):
        raise SystemExit(
            f"{what}: {len(got):,} messages arrived for {len(people):,} people with {len(keys):,} keys;"
            f" expected {n:,} of each (no loss, no double)"
        )


def like(sample: bytes) -> Callable[[int], EmailMessage]:
    """Messages as large as `sample` (one the worker sent), each built afresh with EmailMessage,
    with its own recipient, Message-ID and key."""
    parsed = message_from_bytes(sample, policy=email_policy.default)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None
    text_body = text.get_content()
    html_body = html.get_content() if html is not None else None
    own = ("to", "message-id", "x-leadloop-key", "content-type", "mime-version", "content-transfer-encoding")
    headers = [(k, str(v)) for k, v in parsed.items() if k.lower() not in own]

    def make(i: int) -> EmailMessage:
        msg = EmailMessage(policy=POLICY)
        for k, v in headers:
            msg[k] = v
        msg["To"] = f"p{i}@acme{i % 5000}.example"
        msg["Message-ID"] = f"<floor-{i}@bench>"
        msg["X-Leadloop-Key"] = f"floor:{i}"
        msg.set_content(text_body)
        if html_body is not None:
            msg.add_alternative(html_body, subtype="html")
        return msg

    return make


def floor_smtplib(
    sink: SmtpSink, make: Callable[[int], EmailMessage], n: int, *, reconnect: bool = False
) -> tuple[float, list[float], int]:
    """n messages sent straight with smtplib, over one connection (or, with `reconnect`, a new
    connection per message, as the outbox sends). Returns the seconds, each one's arrival after the
    start, and the size of one as it arrived."""
    start = time.time()
    if reconnect:
        for i in range(1, n + 1):
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
                smtp.send_message(make(i))
    else:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            for i in range(1, n + 1):
                smtp.send_message(make(i))
    secs = time.time() - start
    got, sample = sink.dump()
    _check_arrivals(got, n, "floor")
    return secs, [at - start for at, _, _ in got], len(sample)


def bench_sends(work: Path, n: int, profile: Path | None = None) -> None:
    """Claim 3: n due steps through the outbox to a real SMTP server, beside smtplib alone."""
    sink = SmtpSink()
    settings = send_settings(work / "sends.db", sink.port)
    try:
        with timer() as took:
            db = consenting_world(work / "sends.db", n, settings, ("bench-send",))
        built = took()
        due = utcnow()
        with timer() as took:
            enrolled = enrol_everyone(db, "bench-send", now=due)
        print(
            f"(imported {n:,} consenting people in {built:.0f} s; enrolled {enrolled:,} in {took():.0f} s,"
            f" every first step due at one moment)",
            flush=True,
        )
        # The worker's clock reads `due` the moment it starts, and runs on with the wall clock.
        start = time.time()
        offset = start - due.timestamp()

        def clock() -> datetime:
            return datetime.fromtimestamp(time.time() - offset, UTC)

        worker = Worker(db, clock, timer_handlers(settings), settings=settings)
        sweeps, last, stalled_since = 0, 0, time.time()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        while sink.received < n:  # sweeps back to back, as `leadloop worker` with no interval
            worker.run_once()
            sweeps += 1
            if sink.received > last:
                last, stalled_since = sink.received, time.time()
            elif time.time() - stalled_since > 120:
                raise SystemExit(f"no message arrived for 2 minutes; {sink.received:,} of {n:,} arrived")
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        secs = time.time() - start
        with db.read() as s:
            unsent = s.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.sent_at.is_(None)))
            failed = s.scalar(
                sa.select(sa.func.count()).select_from(Outbox).where(Outbox.last_error.is_not(None))
            )
            completed = s.scalar(
                sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.exit_reason == "completed")
            )
        db.dispose()
        got, sample = sink.dump()
        _check_arrivals(got, n, "worker")
        late = sorted(at - start for at, _, _ in got)
        make = like(sample)
        floor_secs, floor_late, floor_size = floor_smtplib(sink, make, n)
        m = min(n, 5000)
        each_secs, _, _ = floor_smtplib(sink, make, m, reconnect=True)
        print(
            f"{n:,} due steps through the outbox to a local SMTP server on SQLite (target: lateness p99"
            f" <= 60 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; messages of"
            f" {len(sample):,} bytes, the floor's {floor_size:,})"
        )
        _lateness_line("floor: smtplib, one connection", n, floor_secs, floor_late, None)
        _lateness_line("worker: timers, outbox, SMTP", n, secs, late, n / floor_secs)
        steps_s = late[0]
        print(
            f"  where the time goes: the first message arrived {steps_s:.1f} s after the due time (a sweep"
            f" takes every due step, {n / steps_s:,.0f} steps/s, before it delivers any); then"
            f" {(n - 1) / max(late[-1] - late[0], 1e-9):,.0f} msg/s from the outbox (smtplib with a new"
            f" connection per message, as the outbox sends: {m / each_secs:,.0f} msg/s over {m:,})"
        )
        limit = inspect.signature(deliver).parameters["limit"].default
        print(
            f"  checked: {len(got):,} messages, one per person, no key twice; {completed:,} enrolments"
            f" completed; {unsent} outbox rows unsent, {failed} with an error; {sweeps:,} sweeps run back"
            f" to back (`leadloop worker` waits {settings.sweep_interval_s:g} s between sweeps and each"
            f" delivers at most {limit} outbox rows: at most {limit / settings.sweep_interval_s:.0f} msg/s)"
        )
        print(
            f"  target lateness p99 <= 60 s: {'met' if pct(late, 99) <= 60 else 'NOT met'}"
            f" (all {n:,} due at once need at least {n / 60:,.0f} msg/s)"
        )
    finally:
        sink.stop()


def serve_app(db_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADLOOP_DATABASE_URL": f"sqlite:///{db_path}",
        "LEADLOOP_SECRET_KEY": BENCH_KEY,
        "LEADLOOP_LOG_LEVEL": "WARNING",
        "LEADLOOP_RETRAIN_EVERY_DAYS": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadloop.cli", "serve", "--port", str(port), "--no-sweeper"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return proc
        except (httpx.HTTPError, OSError):
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("leadloop serve did not start")


def _in_effect(db: Database, pid: int, codes: tuple[str, ...]) -> str | None:
    """None when consent's own gate refuses the person every type as unsubscribed and none of their
    enrolments or step timers is still live; otherwise what is not so."""
    with db.read() as s:
        now = utcnow()
        refused = {code: may_send(s, pid, code, now, lock=False).reason for code in codes}
        opt_in = s.scalar(sa.select(Person.email_opt_in).where(Person.id == pid))
        ended = s.execute(
            sa.select(Enrolment.id, Enrolment.state, Enrolment.exit_reason).where(Enrolment.person_id == pid)
        ).all()
        live_timers = s.scalar(
            sa.select(sa.func.count())
            .select_from(Timer)
            .where(
                Timer.kind == STEP_TIMER,
                Timer.subject.in_([subject(e.id) for e in ended]),
                Timer.done_at.is_(None),
            )
        )
    if opt_in is not False or any(r != Reason.UNSUBSCRIBED for r in refused.values()):
        return f"consent not withdrawn: opt-in {opt_in}, the gate says {refused}"
    if len(ended) != 2 or any((e.state, e.exit_reason) != ("exited", "unsubscribed") for e in ended):
        return f"enrolments not ended: {ended}"
    if live_timers:
        return f"{live_timers} step timers still pending"
    return None


def bench_unsubscribe(work: Path, n: int, samples: int) -> None:
    """Claim 4: the one-click POST to effect, beside GET /healthz on the same server."""
    db_path = work / "unsubscribe.db"
    settings = send_settings(db_path)
    with timer() as took:
        db = consenting_world(db_path, n, settings, ("bench-a", "bench-b"))
        now = utcnow()
        for name in ("bench-a", "bench-b"):
            enrol_everyone(db, name, now=now)
    print(f"(imported {n:,} consenting people and enrolled each in two sequences in {took():.0f} s)")
    with db.read() as s:
        policy = policy_of(s)
        people = [
            (int(pid), str(address))
            for pid, address in s.execute(
                sa.select(Person.id, Person.email).where(Person.email.is_not(None)).order_by(Person.id)
            )
        ]
    warm = 10  # the first few (not counted) load the server's templates and code paths
    chosen = random.Random(14).sample(people, samples + warm)
    port = free_port()
    proc = serve_app(db_path, port)
    posts: list[float] = []
    healthz: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for i, (pid, address) in enumerate(chosen):
                token = tokens.make(policy.key, tokens.UNSUBSCRIBE, pid, address, utcnow())
                start = time.perf_counter()
                r = client.post(
                    f"/u/{token}",
                    content=b"List-Unsubscribe=One-Click",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
                took_post = (time.perf_counter() - start) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"POST /u/... for person #{pid}: {r.status_code} {r.text[:300]}")
                if (why := _in_effect(db, pid, policy.codes)) is not None:
                    raise SystemExit(f"person #{pid}, after the answer: {why}")
                start = time.perf_counter()
                client.get("/healthz").raise_for_status()
                took_get = (time.perf_counter() - start) * 1000
                if i >= warm:
                    posts.append(took_post)
                    healthz.append(took_get)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    db.dispose()
    print(
        f"one-click unsubscribe (RFC 8058) to effect, `leadloop serve` on SQLite, {n:,} people each in two"
        f" sequences, {samples} people one at a time (load average {os.getloadavg()[0]:.1f} on"
        f" {os.cpu_count()} cores)"
    )
    _line("floor: GET /healthz", healthz)
    _line("POST /u/{token}, one-click", posts)
    print(
        f"  checked after each answer: consent withdrawn for {', '.join(policy.codes)}; both enrolments"
        f" exited (unsubscribed) and their step timers settled; p50 {median(posts) / median(healthz):.1f}x"
        f" the floor"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--only", default="segments,sends,unsubscribe", help="comma-separated: " + ",".join(CLAIMS)
    )
    ap.add_argument("--people", type=int, default=1_000_000, help="segments: the warehouse's size")
    ap.add_argument("--sends", type=int, default=100_000, help="sends: due steps, one person each")
    ap.add_argument("--unsub-people", type=int, default=10_000, help="unsubscribe: people enrolled")
    ap.add_argument("--unsub-samples", type=int, default=300, help="unsubscribe: people who click")
    ap.add_argument("--profile", type=Path, help="sends: write cProfile stats of the worker's run here")
    ap.add_argument("--db", type=Path, default=Path("/tmp/nurture-bench.db"))
    ap.add_argument("--keep", action="store_true", help="segments: reuse a world already built at --db")
    args = ap.parse_args()
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    if unknown := sorted(set(only) - set(CLAIMS)):
        ap.error(f"unknown claim(s) {', '.join(unknown)}; choose from {', '.join(CLAIMS)}")
    print(
        f"bench/nurture.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, {os.cpu_count()} cores"
    )
    if "segments" in only:
        bench_segments(args.db, args.people, keep=args.keep)
    work = Path(tempfile.mkdtemp(prefix="leadloop-nurture-"))
    try:
        if "sends" in only:
            bench_sends(work, args.sends, args.profile)
        if "unsubscribe" in only:
            bench_unsubscribe(work, args.unsub_people, args.unsub_samples)
    finally:
        shutil.rmtree(work, ignore_errors=True)


CLAIMS = ("segments", "sends", "unsubscribe")


if __name__ == "__main__":
    main()
