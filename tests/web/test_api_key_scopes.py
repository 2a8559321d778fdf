"""API keys have scopes: a website's capture key captures and nothing else, a read key only reads,
a full key does what its user's role allows; each key records when it was last used."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadloop.auth.handlers import create_api_key, create_user
from leadloop.cli import app as cli
from leadloop.store.tables import ApiKey
from tests.fixtures.web import Web


def _key(web: Web, scope: str) -> TestClient:
    with web.db.write() as s:
        email = f"{scope}-key@x.io"
        create_user(s, email=email, name=scope, role="marketing", password=None, now=web.clock())
        token = create_api_key(s, user_email=email, name=scope, now=web.clock(), scope=scope)
    return TestClient(web.app, headers={"Authorization": f"Bearer {token}"})


def test_each_scope_does_only_what_it_says(web: Web) -> None:
    capture, read, full = _key(web, "capture"), _key(web, "read"), _key(web, "full")
    lead = {"email": "ann@acme.com", "first_name": "Ann", "activity_type": "form_submit"}
    assert capture.post("/api/v1/leads", json=lead).status_code == 200
    refused = capture.get("/api/v1/leads")
    assert refused.status_code == 403 and "only capture" in refused.json()["detail"]
    assert read.get("/api/v1/leads").status_code == 200
    no = read.post("/api/v1/leads", json=lead)
    assert no.status_code == 403 and "read-only" in no.json()["detail"]
    assert (
        full.get("/api/v1/leads").status_code == 200
        and full.post("/api/v1/leads", json=lead).status_code == 200
    )
    with web.db.read() as s:
        used = dict(s.execute(sa.select(ApiKey.scope, ApiKey.last_used_at)).all())
    assert all(used[k] == web.clock() for k in ("capture", "read", "full"))


def test_a_key_with_an_unknown_scope_is_refused_at_creation(web: Web) -> None:
    with web.db.write() as s:
        create_user(s, email="ops@x.io", name="Ops", role="admin", password=None, now=web.clock())
    url = str(web.db.engine.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(
        cli,
        ["apikeys", "create", "--user", "ops@x.io", "--name", "x", "--scope", "root", "--database-url", url],
    )
    assert out.exit_code == 2 and "scope must be one of: full, read, capture" in out.output
