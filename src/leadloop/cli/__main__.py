"""`python -m leadloop.cli …`, as the browser tests and benches start the server."""

from leadloop.cli import app

app()
