"""What every request can reach: settings, database, clock, templates, rate limiters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fastapi.templating import Jinja2Templates

from leadloop.contract.custom import CustomLimits
from leadloop.core.clock import Clock
from leadloop.core.ratelimit import Limiter
from leadloop.enrich.reverse_ip import IpProvider
from leadloop.settings import Settings
from leadloop.store.db import Database

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    templates: Jinja2Templates
    form_limiter: Limiter
    login_limiter: Limiter  # per IP
    login_account_limiter: Limiter  # per e-mail: a spread of addresses cannot guess one password
    beacon_ip_limiter: Limiter  # the tracking beacons (/collect), per IP and per visitor
    beacon_visitor_limiter: Limiter
    hook_limiter: Limiter  # the bounce webhooks, per client address (capture/hooks_web.py)
    ip_provider: IpProvider | None = None  # reverse-IP company lookup for anonymous visits

    @property
    def custom_limits(self) -> CustomLimits:
        return CustomLimits(self.settings.max_custom_fields, self.settings.max_custom_chars)

    def now_s(self) -> float:
        return time.monotonic()
