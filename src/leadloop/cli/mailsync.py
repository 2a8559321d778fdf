"""`leadloop mail-sync`: log a shared mailbox over IMAP, once or every N seconds."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from leadloop.cli._common import DbUrl, console, database, fail, settings
from leadloop.core.clock import utcnow


def mail_sync(
    host: Annotated[str, typer.Option(help="the IMAP server")],
    user: Annotated[str, typer.Option(help="the mailbox's login")],
    port: int = 993,
    folder: str = "INBOX",
    ssl: Annotated[bool, typer.Option("--ssl/--no-ssl")] = True,
    password_env: Annotated[
        str, typer.Option(help="the environment variable holding the password (never on the command line)")
    ] = "LEADLOOP_IMAP_PASSWORD",
    every: Annotated[float, typer.Option(help="poll every N seconds; 0 syncs once")] = 0.0,
    database_url: DbUrl = None,
) -> None:
    """Log every message of a shared mailbox not logged before, as `mail-in` would; messages are
    marked on the server with the keyword $LeadloopLogged, their \\Seen flags untouched."""
    import imaplib

    from leadloop.capture.imap import Mailbox, sync
    from leadloop.capture.mailin import policy_of

    password = os.environ.get(password_env)
    if not password:
        fail(ValueError(f"set the mailbox password in the environment variable {password_env}"))
    config = settings(database_url)
    db = database(config)
    box = Mailbox(host=host, port=port, user=user, password=password, folder=folder, ssl=ssl, address=user)
    while True:
        try:
            done = sync(db, utcnow, box, policy_of(config), max_bytes=config.mailin_max_bytes)
        except (imaplib.IMAP4.error, OSError, ValueError) as exc:
            if not every:
                fail(ValueError(f"the mailbox could not be read: {exc}"))
            console.print(f"[yellow]mail-sync:[/] {exc}; trying again in {every:g} s")
        else:
            console.print(
                f"mail-sync: {done.logged} logged, {done.skipped} skipped, {done.refused} refused, "
                f"{done.too_big} too big"
            )
            for reason in done.reasons[:20]:
                console.print(f"  {reason}")
        if not every:
            return
        time.sleep(every)
