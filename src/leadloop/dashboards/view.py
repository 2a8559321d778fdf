"""What a dashboard panel is asked: the reports' question, the period, and who is looking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from leadloop.analytics.filters import ReportFilters
from leadloop.analytics.shapes import Ask
from leadloop.dashboards.panel import Panel


@dataclass(frozen=True)
class View:
    """Who is looking and at what: the filters as asked, the question for the reports, and whose
    numbers a rep's board keeps (their own user id)."""

    ask: Ask
    user_id: int
    start: date
    end: date
    _kept: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        """`make()`, computed once for this view: panels that show parts of one report share it."""
        if name not in self._kept:
            self._kept[name] = make()
        return self._kept[name]

    @property
    def now(self) -> datetime:
        return self.ask.now

    @property
    def filters(self) -> ReportFilters:
        return self.ask.filters

    def query(self, **extra: str | None) -> str:
        """The filters as a query string (empty ones left out), then `extra` (an empty key kept: it
        names the "(none)" row of a report)."""
        f = self.filters
        params = {
            "from": str(self.start),
            "to": str(self.end),
            "campaign": f.campaign,
            "segment": f.segment,
            "team": f.team,
            "product": f.product,
        }
        kept = {k: v for k, v in params.items() if v} | {k: v for k, v in extra.items() if v is not None}
        return urlencode(kept)

    def drill(self, report: str, key: str, measure: str | None = None, by: str | None = None) -> str:
        return "/dashboards/leads?" + self.query(report=report, key=key, measure=measure, by=by)


Builder = Callable[[Session, View], Panel]


def links_of(rows: list[Any], make: Callable[[Any], dict[str, str]]) -> dict[int, dict[str, str]]:
    return {n: make(r) for n, r in enumerate(rows)}
