"""`leadloop tracking`: the web sites that carry the tracking script."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow
from leadloop.core.errors import InvalidInput

tracking_app = typer.Typer(help="Web sites with the tracking script (/t.js).", no_args_is_help=True)


@tracking_app.command("add-site")
def add_site_cmd(
    name: Annotated[str, typer.Option(help="a name for the site")],
    origin: Annotated[list[str], typer.Option(help="an origin it may send from, e.g. https://www.firm.com")],
    collect_forms: Annotated[bool, typer.Option("--collect-forms/--no-collect-forms")] = False,
    database_url: DbUrl = None,
) -> None:
    """Register a site and print the snippet to put on its pages."""
    from leadloop.capture.visits import add_site

    config = settings(database_url)
    try:
        with database(config).write() as session:
            site = add_site(session, name=name, origins=origin, collect_forms=collect_forms, now=utcnow())
            key, origins = site.site_key, list(site.allowed_origins)
    except InvalidInput as exc:
        fail(exc)
    base = config.public_url.rstrip("/")
    console.print(f"site {name!r} accepts beacons from {', '.join(origins)}")
    print(
        f'<script src="{base}/t.js" data-site="{key}"{" data-collect-forms" if collect_forms else ""} async></script>'
    )


@tracking_app.command("sites")
def sites_cmd(database_url: DbUrl = None) -> None:
    """List the sites and their keys."""
    from leadloop.store.tables import TrackingSite

    with database(settings(database_url)).read() as session:
        for s in session.scalars(sa.select(TrackingSite).order_by(TrackingSite.id)):
            print(
                f"{s.id}\t{s.name}\t{s.site_key}\t{','.join(s.allowed_origins)}\tforms={'on' if s.collect_forms else 'off'}"
            )
