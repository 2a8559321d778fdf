"""One typed settings object. Built by the app factory or the CLI, never at import time."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADLOOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./leadloop.db"
    # No default: a key everyone knows signs nothing. `leadloop serve` refuses to start without one
    # unless it listens on localhost only, where it makes a random key for the process.
    secret_key: str | None = Field(
        default=None,
        description="Keys the session tokens stored at rest. Set LEADLOOP_SECRET_KEY in production.",
    )
    # Sessions live in the database: a session ends after `session_idle_s` without a request, and
    # `session_max_age_s` after sign-in whatever happens.
    session_idle_s: int = Field(default=8 * 3600, gt=0)
    session_max_age_s: int = Field(default=7 * 24 * 3600, gt=0)
    secure_cookies: bool = False  # Secure is on anyway when public_url is https
    # Addresses (or networks, "10.0.0.0/8") of the reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Sign-in attempts per IP and per account; shared by every process when redis_url is set.
    login_attempts_per_minute: float = 10.0
    login_burst: int = 10
    redis_url: str | None = None
    # Reps see their teammates' leads (and the people on them) as well as their own.
    share_team_leads: bool = True

    # Web-to-lead: a per-IP token bucket; no daily cap.
    form_rate_per_minute: float = 30.0
    # Tracking beacons (/collect): an office behind one address sends many; one visitor sends few.
    beacon_ip_per_minute: float = 600.0
    beacon_ip_burst: int = 300
    beacon_visitor_per_minute: float = 60.0
    beacon_visitor_burst: int = 30
    form_burst: int = 20
    # The two-speed web form (issue 19, capture/spool.py): a posted form is stored at once and
    # landed in a batch by the form lane; the visitor's answer waits for that at most this long
    # (the owner is then set when the page shows) and otherwise comes at once, the lead landing
    # moments later. form_lane=false lands each form in its own request (the slower, older way).
    # 50 ms: under its capacity a form lands in ~15-30 ms, so the owner is set when the page shows;
    # past it the answer never waits longer than this (issue 19's overload: p99 within 100 ms).
    form_answer_ms: float = Field(default=50.0, ge=0)
    form_lane: bool = True
    # Where the lane lands on a SQLite file: "process", a `leadloop lander` beside the web process
    # (the other core; capture/lander.py), or "thread", in the web process. PostgreSQL: a thread.
    form_lander: Literal["process", "thread"] = "process"
    form_allowed_redirect_hosts: list[str] = Field(default_factory=list)

    # Bounded input: a body over the limit is refused (413) before it is read; the anonymous form
    # gets a much smaller one. Custom fields (outside the contract) per person, from any door.
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_form_bytes: int = Field(default=64 * 1024, ge=1024)
    max_custom_fields: int = Field(default=20, ge=0)
    max_custom_chars: int = Field(default=1_000, ge=1)

    # Capture
    import_batch_size: int = 2000
    max_field_chars: int = 65_536
    max_api_batch: int = 5_000
    default_product: str = "general"
    # The currency of an opportunity that names none (ISO 4217).
    default_currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    # Reports (issue 15): units of the default currency per unit of another, as JSON
    # ('{"EUR": "1.08"}'); a report refuses to add a currency that has none (analytics/filters.py).
    fx_rates: dict[str, Decimal] = Field(default_factory=dict)
    # Capacity report assumptions (analytics/capacity.py): leads a rep can take a week, what a rep's
    # hour costs, minutes per sales touch and per handed lead. The report facts refresh every N minutes.
    rep_capacity_per_week: int = Field(default=25, gt=0)
    rep_cost_per_hour: Decimal = Field(default=Decimal("60"), ge=0)
    minutes_per_touch: int = Field(default=10, ge=0)
    minutes_per_lead: int = Field(default=5, ge=0)
    facts_every_minutes: float = Field(default=5.0, ge=0)
    sqlite_busy_timeout_ms: int = 30_000

    # Timers and jobs: the sweeper acts within `sweep_interval_s` of a due time.
    sweep_interval_s: float = 5.0
    # Who runs timers and the outbox (ADR 0042): "auto" is the job engine (procrastinate) on
    # PostgreSQL and the sweeper on SQLite; "sweeper" keeps the sweeper on PostgreSQL too.
    jobs_engine: Literal["auto", "sweeper", "procrastinate"] = "auto"
    worker_concurrency: int = Field(default=4, ge=1, le=64)  # jobs one `leadloop worker` runs at once
    jobs_stalled_after_s: float = Field(default=30.0, ge=5)  # a worker silent this long is dead
    retention_jobs_days: int = Field(default=7, ge=1)  # failed and cancelled engine jobs kept
    retrain_every_days: float = 7.0  # the predictive model's schedule; 0 turns it off
    # What the predictive model predicts for a lead (issue 16): its account wins ("won") or opens
    # ("created") a deal on the lead's product within `predict_days` days.
    predict_target: Literal["won", "created"] = "won"
    predict_days: int = Field(default=90, ge=1, le=730)

    # Notifications (routing): e-mail through SMTP, and an optional signed webhook.
    smtp_host: str = "127.0.0.1"  # empty: e-mail off (messages are settled as not configured)
    smtp_port: int = 25
    mail_from: str = "leadloop@localhost"
    public_url: str = "http://127.0.0.1:8000"
    webhook_url: str | None = None
    webhook_secret: str = "change-me-webhook-secret"
    webhook_format: str = "json"  # json | slack (a Slack-compatible {"text": ...} body)
    outbox_max_attempts: int = 12
    # Housekeeping (jobs/housekeeping.py, daily): days a settled outbox message, a done timer and an
    # API idempotency key are kept.
    retention_outbox_days: int = Field(default=90, ge=1)
    retention_timers_days: int = Field(default=30, ge=1)
    retention_idempotency_days: int = Field(default=30, ge=1)
    # SLA escalations to one manager are gathered into one e-mail per this many minutes.
    sla_digest_minutes: float = Field(default=30.0, gt=0, le=24 * 60)

    # Enrichment after capture: a provider ("file") and its reference file; the sweeper fills the
    # empty firmographics of new accounts every `enrich_every_minutes`.
    enrich_provider: str | None = None
    enrich_path: str | None = None
    enrich_every_minutes: float = 5.0
    # Reverse-IP company lookup for anonymous website visits: a CSV of `network,domain` (CIDR).
    reverse_ip_path: str | None = None

    # Identity resolution (identity/policy.py). Match probabilities: at or above `match_auto_merge`
    # a newly captured person merges into the one they match; from `match_review` up to it, the pair
    # waits in the suspected-duplicates queue. Gmail dots and plus tags: a.b+x@gmail.com is ab@gmail.com.
    match_auto_merge: float = Field(default=0.995, gt=0.5, le=1.0)
    match_review: float = Field(default=0.8, gt=0.0, le=1.0)
    match_gmail_dots: bool = True
    match_plus_tags: bool = True
    # Merge survivorship: a value from a source earlier in this list wins; among equals, the newer.
    merge_source_priority: list[str] = Field(default_factory=lambda: ["api", "form", "import"])
    # A free-mail lead's company name matches an account at this token similarity (0-100) or above.
    account_name_match: float = Field(default=90.0, ge=50.0, le=100.0)

    # Mail-in (the BCC/forward address) and the shared-mailbox sync: our own domains beside the
    # staff's (comma-separated), whether an unknown outside address becomes a person, and bounds.
    mailin_domains: str = ""
    # The BCC addresses mail-in accepts (comma-separated): mail to any other address is refused in
    # the protocol, so an MX pointed at it is not an open door. Empty: any (a local relay only).
    mailin_addresses: str = ""
    mailin_create_people: bool = True
    mailin_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    mailin_max_recipients: int = Field(default=100, ge=1, le=10_000)
    # Calendar feeds (ICS URLs, comma-separated) polled every `ics_every_minutes` for meetings.
    ics_feeds: str = ""
    ics_every_minutes: float = Field(default=15.0, gt=0)

    # Consent (consent/): the subscription types a person can choose ("code=Label", comma-separated in
    # the environment), double opt-in for what a web form's ticked box grants, implied consent after
    # an inquiry that expires by itself (CASL: 183 days; 0 turns it off), how long an unsubscribe
    # link works (RFC 8058 asks for a long time; never under 60 days), and the mailbox a mail
    # client's `mailto:` unsubscribe goes to ("" leaves the mailto out of List-Unsubscribe).
    subscription_types: list[str] = Field(
        default_factory=lambda: [
            "newsletter=Newsletter",
            "product_updates=Product updates",
            "events=Events and webinars",
        ]
    )
    double_opt_in: bool = False
    implied_consent_days: int = Field(default=0, ge=0, le=3650)
    implied_consent_activities: list[str] = Field(
        default_factory=lambda: [
            "form_submit",
            "demo_request",
            "contact_request",
            "contact_sales",
            "pricing_request",
            "trial_signup",
        ]
    )
    unsubscribe_link_days: int = Field(default=90, ge=60, le=3650)
    confirm_link_days: int = Field(default=30, ge=1, le=365)
    unsubscribe_mailto: str = ""
    # Bounces and complaints (ADR 0031): the shared secret of our signed webhook
    # (POST /api/v1/hooks/bounces) and Mailgun's webhook signing key (POST /api/v1/hooks/mailgun).
    # No default: unset, a webhook answers 503 and records nothing (an unsigned one is never taken).
    # A signature made more than `bounce_webhook_max_age_s` ago (or ahead) is refused as a replay;
    # each client address may call them `bounce_webhook_per_minute` times a minute (burst on top).
    bounce_webhook_secret: SecretStr | None = None
    mailgun_webhook_signing_key: SecretStr | None = None
    bounce_webhook_max_age_s: int = Field(default=300, ge=30, le=3600)
    bounce_webhook_per_minute: float = Field(default=600.0, gt=0)
    bounce_webhook_burst: int = Field(default=120, ge=1)
    # E-mail tracking (mailtrack/, ADR 0032): how many days a message's open pixel and click links
    # record anything after its send (a genuine click link still redirects after that), how soon
    # after the send a hit counts as a machine's (a link scanner at delivery, a proxy's prefetch),
    # and networks (CIDR) whose hits are always a machine's, beside the built-in mail-security
    # ranges: Apple's Private Relay egress list, for example. Links go to `public_url`.
    mailtrack_link_days: int = Field(default=365, ge=30, le=3650)
    mailtrack_machine_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    mailtrack_machine_networks: list[str] = Field(default_factory=list)
    # Segments (segments/policy.py): a segment that time alone can change ("visited pricing twice in
    # 14 days", "engagement above 40") is rebuilt every `segment_refresh_minutes`; every other one
    # every `segment_resync_hours`, as a safety net (events keep both current in between).
    segment_refresh_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    segment_resync_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # Sequences (nurture/): the per-person cap on marketing e-mail across every sequence (at most
    # this many in any this many days), and the physical address every marketing e-mail carries in
    # its footer (CAN-SPAM and its kin ask for one; `leadloop doctor` says when it is missing).
    nurture_max_emails: int = Field(default=3, ge=1, le=100)
    nurture_per_days: float = Field(default=7.0, gt=0, le=365)
    mail_postal_address: str = ""

    log_json: bool = True
    log_level: str = "INFO"

    # Import in the app: the largest file the upload takes (larger ones: `leadloop import` on the
    # server), and where uploaded files wait for their run (a directory every app process can read;
    # by default one under the system's temporary directory).
    max_import_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    import_dir: str | None = None
    # The demo's live hand-raisers (demo/live.py): a new demo request every this many minutes while
    # it serves; 0 turns them off (the default everywhere but `leadloop demo`).
    demo_hand_raiser_minutes: float = Field(default=0.0, ge=0.0)

    @field_validator("mailtrack_machine_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        networks = [v.strip() for v in values if v.strip()]
        for value in networks:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a network; write one as 17.0.0.0/8 or 2a01:111:f400::/48"
                ) from None
        return networks

    @model_validator(mode="after")
    def _webhook_secret_strong_enough(self) -> Settings:
        secret = self.bounce_webhook_secret.get_secret_value() if self.bounce_webhook_secret else ""
        if secret and len(secret) < 16:
            raise ValueError(
                "LEADLOOP_BOUNCE_WEBHOOK_SECRET must be at least 16 characters; make one with "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return self

    @model_validator(mode="after")
    def _engine_needs_postgresql(self) -> Settings:
        if self.jobs_engine == "procrastinate" and not self.database_url.startswith(
            ("postgres", "postgresql")
        ):
            raise ValueError(
                "LEADLOOP_JOBS_ENGINE=procrastinate needs PostgreSQL (LEADLOOP_DATABASE_URL); "
                "on SQLite the sweeper runs timers and the outbox"
            )
        return self

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Settings:
        if self.match_review > self.match_auto_merge:
            raise ValueError(
                f"LEADLOOP_MATCH_REVIEW ({self.match_review}) must not be above "
                f"LEADLOOP_MATCH_AUTO_MERGE ({self.match_auto_merge})"
            )
        return self
