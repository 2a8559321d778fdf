"""Reports under /api/v1/reports (issue 15), thin: parse, call the report, shape the rows. Amounts are
strings so that no cent is lost to a float on the way."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from leadloop.analytics.attribution_report import attribution_report, check_models
from leadloop.analytics.drill import leads_behind
from leadloop.analytics.filters import ReportFilters
from leadloop.analytics.shapes import REPORTS, Ask, ask_for
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


def _ask(ctx: Any, by: str | None, filters: ReportFilters, currency: str | None) -> Ask:
    return ask_for(ctx.settings, now=ctx.clock(), filters=filters, by=by, currency=currency)


def _report_route(name: str) -> None:
    def report_api(
        ctx: Ctx,
        who: Staff,
        by: Annotated[str | None, Query(max_length=20)] = None,
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        campaign: Annotated[str | None, Query(max_length=300)] = None,
        segment: Annotated[str | None, Query(max_length=100)] = None,
        team: Annotated[str | None, Query(max_length=200)] = None,
        product: Annotated[str | None, Query(max_length=100)] = None,
        currency: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$")] = None,
    ) -> dict[str, Any]:
        filters = ReportFilters(start, end, campaign, segment, team, product)
        with ctx.db.read() as session:
            tables = REPORTS[name](session, _ask(ctx, by, filters, currency))
        return {
            "report": name,
            "tables": [{"title": t.title, "header": t.header, "rows": t.rows} for t in tables],
        }

    report_api.__doc__ = (
        f"The {name} report as tables of text cells (the CLI's `leadloop report {name}` prints the same), "
        "under the shared filters; `from` and `to` are dates, both included. Read from the report facts "
        "the timer keeps (ADR 0036)."
    )
    router.add_api_route(
        f"/api/v1/reports/{name}", report_api, methods=["GET"], tags=["analytics"], name=f"report_{name}"
    )


# /api/v1/reports/sla is routing's own (managers; routing/web.py): the same sla_report underneath.
for _name in REPORTS:
    if _name != "sla":
        _report_route(_name)


@router.get("/api/v1/reports/{name}/leads", tags=["analytics"])
def report_leads_api(
    ctx: Ctx,
    who: Staff,
    name: Annotated[str, Path(max_length=20)],
    key: Annotated[str, Query(max_length=200)],
    by: Annotated[str | None, Query(max_length=20)] = None,
    measure: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    campaign: Annotated[str | None, Query(max_length=300)] = None,
    segment: Annotated[str | None, Query(max_length=100)] = None,
    team: Annotated[str | None, Query(max_length=200)] = None,
    product: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The lead ids behind one number: `key` is the row's key column (a speed bucket, a campaign's id,
    an owner's user:<id>), `measure` the column (handed, won, sal, ...)."""
    filters = ReportFilters(start, end, campaign, segment, team, product)
    with ctx.db.read() as session:
        ids = leads_behind(session, name, now=ctx.clock(), filters=filters, key=key, by=by, measure=measure)
    return {"report": name, "key": key, "measure": measure, "leads": ids}
