"""`leadloop mail-in`: the BCC/forward address, an SMTP server that logs what reps send it."""

from __future__ import annotations

import threading

from leadloop.cli._common import DbUrl, console, database, settings
from leadloop.core.clock import utcnow


def mail_in(host: str = "127.0.0.1", port: int = 2525, database_url: DbUrl = None) -> None:
    """Receive mail on HOST:PORT and log each message as an e-mail or meeting activity on the
    people it involves. Point an MX or a mail rule at it; reps BCC or forward to any address here."""
    from leadloop.capture.smtp import start

    config = settings(database_url)
    controller = start(database(config), utcnow, config, host=host, port=port)
    console.print(f"mail-in listening on {host}:{port}; Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
