"""Reports under /api/v1/reports (issue 15), thin: parse, call the report, shape the rows. Amounts are
strings so that no cent is lost to a float on the way."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadloop.analytics.attribution_report import attribution_report, check_models
from leadloop.web.deps import Ctx, Staff

router = APIRouter()


@router.get("/api/v1/reports/attribution", tags=["analytics"])
def attribution_api(
    ctx: Ctx,
    who: Staff,
    model: Annotated[list[str] | None, Query(max_length=30)] = None,
    by: Annotated[str, Query(max_length=20)] = "campaign",
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    campaign: Annotated[str | None, Query(max_length=300)] = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 180,
    half_life_days: Annotated[float, Query(gt=0, le=3650)] = 7,
) -> dict[str, Any]:
    """Revenue (won, by close date) and pipeline (open, by creation) credited to each campaign,
    channel or content under each attribution model (`model` repeated; all by default), one row per
    group and currency. `from` and `to` are dates, both included."""
    models = check_models(model)
    with ctx.db.read() as session:
        rows = attribution_report(
            session,
            now=ctx.clock(),
            models=models,
            by=by,
            start=start,
            end=end,
            campaign=campaign,
            window=timedelta(days=window_days),
            half_life=timedelta(days=half_life_days),
            default_currency=ctx.settings.default_currency,
        )
    return {
        "by": by,
        "models": models,
        "from": start,
        "to": end,
        "rows": [
            {
                "group": r.group,
                "currency": r.currency,
                "revenue": {m: str(v) for m, v in r.revenue.items()},
                "pipeline": {m: str(v) for m, v in r.pipeline.items()},
            }
            for r in rows
        ],
    }
