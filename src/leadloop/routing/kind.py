"""Routing rule sets as a kind of versioned document: what the documents machine needs from routing."""

from __future__ import annotations

from leadloop.auth.model import MANAGERS
from leadloop.documents.model import DocumentKind
from leadloop.routing import admin
from leadloop.routing.document import RuleSet, parse_rules
from leadloop.routing.repository import active_rules
from leadloop.store.tables import RoutingRuleSet

ROUTING = DocumentKind[RuleSet](
    slug="routing",
    noun="rule set",
    table=RoutingRuleSet,
    parse=parse_rules,
    active=active_rules,
    preview=admin.what_if,
    preview_limit=admin.REPLAY,
    activate=admin.activate,
    warnings=RuleSet.warnings,
    editors=MANAGERS,  # sales management owns who gets which lead
)
