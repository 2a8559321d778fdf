"""The composition root: the one place that knows every capability and wires them together.

- Who reacts to what (`reactions`): capabilities never call each other's handlers; they publish
  events (core/reactions.py) and the reactions listed here run in the same transaction.
- Which timer kind runs what (`timer_handlers`) for the sweeper, and which recurring timers to arm.
- How a Database is built for the app, the CLI, the worker and the tests (`database`), so every
  session carries the reactions and the identity policy.

Entry points (web, CLI, worker, demo) import this; nothing below them does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from leadloop.analytics import credits as report_credits
from leadloop.analytics import facts as report_facts
from leadloop.capture import crm
from leadloop.capture.activities import on_mail_tracked, on_touch_logged
from leadloop.capture.calendar_feeds import ICS_FEEDS, feeds_job
from leadloop.capture.mailin import policy_of
from leadloop.capture.people import REFUSE_KEY
from leadloop.capture.spool import Spool, land_waiting
from leadloop.consent import reactions as consent
from leadloop.consent.gate import Gate
from leadloop.consent.policy import session_info as consent_info
from leadloop.consent.repository import EXPIRES as CONSENT_EXPIRES
from leadloop.contract.custom import CustomLimits
from leadloop.core.events import (
    ActivitiesAppended,
    ConsentStated,
    ConsentWithdrawn,
    DealApproved,
    Event,
    LeadAssigned,
    LeadCooled,
    LeadHandedBack,
    LeadMoved,
    LeadOpened,
    LeadQualified,
    LeadReachedMQL,
    LeadRecycled,
    MailTracked,
    OpportunityChanged,
    PartnerReported,
    PeopleCaptured,
    PeopleMerged,
    PeopleUnmerged,
    PersonErased,
    RecordsEdited,
    SegmentEntered,
    SlaBreached,
    SlaEscalated,
    TaskDue,
    TaskRequested,
    TimelinesChanged,
    TouchLogged,
    UnsubscribeMailed,
)
from leadloop.core.reactions import KEY as REACTIONS_KEY
from leadloop.core.reactions import Reactions
from leadloop.demo import live
from leadloop.enrich.handlers import ENRICH_SWEEP, sweep_job
from leadloop.enrich.provider import make_provider
from leadloop.identity.policy import session_info as identity_info
from leadloop.jobs import housekeeping
from leadloop.jobs.announce import ANNOUNCE_KEY, uses_engine
from leadloop.jobs.timers import TimerHandler, pending, schedule
from leadloop.lifecycle import summary
from leadloop.mailtrack.policy import session_info as mailtrack_info
from leadloop.notifications.handlers import on_lead_assigned, on_sla_breached, on_sla_escalated, on_task_due
from leadloop.nurture import handlers as nurture
from leadloop.nurture import reactions as sequences
from leadloop.nurture.model import Throttle
from leadloop.nurture.policy import SendPolicy
from leadloop.nurture.repository import STEP_TIMER
from leadloop.nurture.whatif import THROTTLE_KEY
from leadloop.partners import handlers as partners
from leadloop.partners.model import PARTNER_ACCEPT
from leadloop.privacy.refuse import erased_people
from leadloop.routing import handlers as routing
from leadloop.scoring import handlers as scoring
from leadloop.scoring import jobs as scoring_jobs
from leadloop.scoring.deal_value import Currency
from leadloop.scoring.rescore import on_timelines_changed, rescore
from leadloop.scoring.target import Target
from leadloop.segments import handlers as segments
from leadloop.segments import reactions as segment_reactions
from leadloop.segments.policy import SegmentPolicy
from leadloop.segments.policy import session_info as segment_info
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from leadloop.work import handlers as work


def reactions() -> Reactions:
    """Who reacts to what, in the order they run. All of these run inside the transaction that
    raised the event: an MQL is routed before the capture's POST returns (speed-to-lead), and an
    activity is never counted without being scored. Later work (e-mail, webhooks, SLA clocks,
    cooling) is written by these reactions as outbox rows and timers, in the same transaction."""
    r = Reactions()
    # An activity arrived: the lead's summary counts it, scoring weighs it (a lead may open or
    # become an MQL), and a call, meeting or e-mail on an assigned lead stops its SLA clock.
    r.on(ActivitiesAppended, summary.on_activities)
    r.on(ActivitiesAppended, scoring.on_activities)
    r.on(ActivitiesAppended, routing.on_activities)
    # A lead reached MQL: routing gives it an owner at once.
    r.on(LeadReachedMQL, routing.on_mql)
    # A rep logged a call from the inbox: capture appends it to the activity log.
    r.on(TouchLogged, on_touch_logged)
    # E-mail tracking (issue 14, item 3): an open or a click of our message becomes an activity; a
    # machine's (a privacy proxy, a link scanner) has its own type, which nothing scores (ADR 0032).
    r.on(MailTracked, on_mail_tracked)
    # A merge or unmerge moved activities: scores are rebuilt from the log.
    r.on(TimelinesChanged, on_timelines_changed)
    # A partner handed a lead back or let its accept deadline pass: routing finds another owner.
    r.on(LeadHandedBack, routing.on_handed_back)
    # A partner reported a deal won or lost, or a registered deal was approved: capture records it.
    r.on(PartnerReported, crm.on_partner_reported)
    r.on(DealApproved, crm.on_deal_approved)
    # A lead converted in the app, or its opportunity won or lost there (issue 15): capture
    # appends the milestone to the activity log, as an import of the CRM's opportunities does.
    r.on(OpportunityChanged, crm.on_opportunity_changed)
    # Edit and reassign (issue 13, item 4): a field edited by hand is scored again (fit reads it).
    r.on(RecordsEdited, _rescore_edited)
    # The rep's workbench (issue 13): a task's reminder time came: its owner is notified in the app.
    # To notify on another event: r.on(ThatEvent, notify_on(lambda session, e: [Notice(...)])).
    r.on(TaskDue, on_task_due)
    # SLA: the owner is told in the app when a clock runs out, the manager when it is escalated.
    r.on(SlaBreached, on_sla_breached)
    r.on(SlaEscalated, on_sla_escalated)
    # A lead became someone's (an MQL, a hand-over, a reassignment): they hear it in the app at once.
    r.on(LeadAssigned, on_lead_assigned)
    # The qualification desk: a BDR qualified a lead; routing hands it to a field rep.
    r.on(LeadQualified, routing.on_qualified)
    # Consent (issue 14, item 4; ADR 0027): consent is the one writer of consent and of
    # `email_opt_in`. A door captured an opt-in or opt-out; identity merged or unmerged two people
    # (an opt-out always wins); an inquiry gives implied consent (when on) and another system's
    # `unsubscribe` activity withdraws everything; an erased person is withdrawn from everything.
    # Deliverability (ADR 0031): an `email_bounce_hard` activity suppresses the address and an
    # `email_complaint` withdraws everything and suppresses it, whichever door they came through
    # (mail-in's delivery reports, the bounce webhooks, an import); a mailto unsubscribe that
    # mail-in received is checked by its token.
    r.on(ConsentStated, consent.on_consent_stated)
    r.on(PeopleMerged, consent.on_people_merged)
    r.on(PeopleUnmerged, consent.on_people_unmerged)
    r.on(ActivitiesAppended, consent.on_activities)
    r.on(UnsubscribeMailed, consent.on_unsubscribe_mailed)
    r.on(PersonErased, consent.on_person_erased)
    # Segments (issue 14): whatever changed a person's facts decides their segments again, in the
    # same transaction. Wired after scoring and the rescore above, so the scores read are new.
    r.on(ActivitiesAppended, segment_reactions.on_activities)
    r.on(PeopleCaptured, segment_reactions.on_people_captured)
    r.on(RecordsEdited, segment_reactions.on_records_edited)
    r.on(TimelinesChanged, segment_reactions.on_timelines_changed)
    for lead_event in (LeadOpened, LeadMoved, LeadAssigned):
        r.on(lead_event, segment_reactions.on_leads_changed)
    for consent_event in (ConsentStated, ConsentWithdrawn, PersonErased):
        r.on(consent_event, segment_reactions.on_consent_changed)  # after consent's own reactions
    # Sequences (issue 14, item 2). Enter: a new inquiry not ready for sales, a lead sent back or
    # cooled, a lead moved to a stage, an activity a sequence names. Leave: the person replied, met,
    # unsubscribed, bounced or complained; the lead reached MQL or a salesperson owns it. Wired
    # after scoring and routing, so the stage and owner read are the new ones. A sequence step's
    # task for the owner is created by the workbench.
    r.on(LeadOpened, sequences.on_lead_opened)
    r.on(LeadRecycled, sequences.on_lead_recycled)
    r.on(LeadCooled, sequences.on_lead_cooled)
    r.on(LeadMoved, sequences.on_lead_moved)
    r.on(ActivitiesAppended, sequences.on_activities)
    r.on(LeadReachedMQL, sequences.on_mql)
    r.on(LeadAssigned, sequences.on_assigned)
    r.on(SegmentEntered, sequences.on_segments_entered)
    # An unsubscribe, a complaint or an erasure ends the person's enrolments in that transaction
    # (after consent recorded it), so a step due at that moment finds them ended and sends nothing.
    r.on(ConsentWithdrawn, sequences.on_people_opted_out)
    r.on(PersonErased, sequences.on_people_opted_out)
    # Attribution's kept credits hold page addresses as content: an erasure writes them again.
    r.on(PersonErased, report_credits.on_person_erased)
    r.on(TaskRequested, work.on_task_requested)
    return r


def _rescore_edited(session: Any, events: list[RecordsEdited], now: datetime) -> list[Event]:
    people = frozenset().union(*(e.person_ids for e in events))
    accounts = frozenset().union(*(e.account_ids for e in events))
    return rescore(session, set(people), set(accounts), now=now)


def session_info(settings: Settings | None = None) -> dict[str, Any]:
    """What every session of a Database carries: the reactions, the identity matching policy, the
    consent and tracking policies, and the check capture asks before storing anyone (GDPR: an erased person is
    refused at every door; privacy/ answers it, so capture never imports privacy)."""
    settings = settings or Settings()
    return {
        **identity_info(settings),
        **consent_info(settings),
        REFUSE_KEY: erased_people,
        **segment_info(settings),
        THROTTLE_KEY: throttle(settings),  # the sequences' what-if simulates it
        **mailtrack_info(settings),
        REACTIONS_KEY: reactions(),
        report_credits.CURRENCY_KEY: settings.default_currency,
        # On PostgreSQL each timer and message is also a job of the engine (ADR 0042).
        **({ANNOUNCE_KEY: _deferrer(settings)} if uses_engine(settings) else {}),
    }


def _deferrer(settings: Settings) -> Any:
    from leadloop.jobs.engine import Deferrer  # procrastinate loads only where it runs

    return Deferrer(settings.database_url)


def throttle(settings: Settings) -> Throttle:
    return Throttle(settings.nurture_max_emails, timedelta(days=settings.nurture_per_days))


def send_policy(settings: Settings) -> SendPolicy:
    """Who may be sent marketing e-mail: consent's log, suppressions and erasures (consent/gate.py)."""
    return Gate()


def database(settings: Settings, *, migrate: bool = True) -> Database:
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if migrate:
        upgrade(engine)
    return Database(engine, info=session_info(settings))


def form_landers(settings: Settings, db: Database) -> list[Callable[[datetime], int]]:
    """What a separate worker lands each sweep: web forms left waiting in the spool (by a web
    process that stopped, or whose landing failed and backs off: capture/spool.py)."""
    spool = Spool.beside(db)
    custom = CustomLimits(settings.max_custom_fields, settings.max_custom_chars)
    return [lambda now: land_waiting(spool, db, now=now, custom=custom)]


def timer_handlers(settings: Settings) -> dict[str, TimerHandler]:
    """What each kind of timer runs when it is due."""
    handlers: dict[str, TimerHandler] = {"lead_cools": scoring_jobs.lead_cools}
    handlers[PARTNER_ACCEPT] = partners.accept_deadline
    handlers[partners.DEAL_EXPIRES] = partners.deal_expiry
    handlers[work.TASK_DUE] = work.task_due  # the rep's workbench: a task's reminder (issue 13)
    handlers[CONSENT_EXPIRES] = consent.consent_expires  # implied consent runs out (issue 14)
    # Sequences: an enrolment's due steps (issue 14, item 2).
    handlers[STEP_TIMER] = nurture.step_handler(
        send_policy(settings),
        nurture.Mailer(settings.mail_postal_address, settings.mail_from, throttle(settings)),
    )
    if settings.retrain_every_days > 0:
        handlers[scoring_jobs.RETRAIN] = scoring_jobs.retrain_job(
            timedelta(days=settings.retrain_every_days),
            Target(settings.predict_target, settings.predict_days),
            Currency(settings.default_currency, settings.fx_rates),
        )
    if settings.enrich_provider:
        provider = make_provider(settings.enrich_provider, settings.enrich_path)
        handlers[ENRICH_SWEEP] = sweep_job(provider, timedelta(minutes=settings.enrich_every_minutes))
    if settings.ics_feeds:
        urls = [u.strip() for u in settings.ics_feeds.split(",") if u.strip()]
        handlers[ICS_FEEDS] = feeds_job(
            urls, timedelta(minutes=settings.ics_every_minutes), policy_of(settings)
        )
    # Segments: each one's rebuild on the clock (time windows, decay; a daily safety net).
    handlers[segments.SEGMENT_REFRESH] = segments.refresh_job(SegmentPolicy.of(settings))
    # The SLA clocks and the managers' escalation digest, at the interval the settings give.
    handlers.update(routing.sla_timer_handlers(timedelta(minutes=settings.sla_digest_minutes)))
    handlers[housekeeping.HOUSEKEEPING] = housekeeping.housekeeping_job(
        housekeeping.Retention(
            outbox_days=settings.retention_outbox_days,
            timers_days=settings.retention_timers_days,
            idempotency_days=settings.retention_idempotency_days,
        )
    )
    # The reports' facts (issue 15, ADR 0036): refreshed on a timer, never per page view.
    if settings.facts_every_minutes > 0:
        handlers[report_facts.FACTS_REFRESH] = report_facts.refresh_job(
            timedelta(minutes=settings.facts_every_minutes),
            default_currency=settings.default_currency,
            default_product=settings.default_product,
        )
    # The demo's live hand-raisers (issue 13): off unless the demo turns them on.
    if settings.demo_hand_raiser_minutes > 0:
        handlers[live.LIVE_HAND_RAISER] = live.hand_raiser_job(
            timedelta(minutes=settings.demo_hand_raiser_minutes)
        )
    return handlers


def arm_recurring(settings: Settings, db: Database, now: datetime) -> None:
    """Recurring work is a timer that arms its next run; this arms the first one if none is pending."""
    if settings.retrain_every_days > 0:
        with db.write() as session:
            scoring_jobs.ensure_retrain_scheduled(
                session, now=now, every=timedelta(days=settings.retrain_every_days)
            )
    if settings.enrich_provider:
        with db.write() as session:
            if pending(session, ENRICH_SWEEP, "accounts") is None:
                schedule(session, ENRICH_SWEEP, "accounts", now)
    if settings.ics_feeds:
        with db.write() as session:
            if pending(session, ICS_FEEDS, "feeds") is None:
                schedule(session, ICS_FEEDS, "feeds", now)
    with db.write() as session:  # the machinery's own rows, pruned daily
        if pending(session, housekeeping.HOUSEKEEPING, "tables") is None:
            schedule(session, housekeeping.HOUSEKEEPING, "tables", now + timedelta(hours=1))
    if settings.facts_every_minutes > 0:  # the reports' facts (issue 15)
        with db.write() as session:
            if pending(session, report_facts.FACTS_REFRESH, "facts") is None:
                schedule(session, report_facts.FACTS_REFRESH, "facts", now)
    if settings.demo_hand_raiser_minutes > 0:  # the demo's live hand-raisers (issue 13)
        with db.write() as session:
            live.arm(session, now=now)
