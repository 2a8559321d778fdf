"""Help opens the guide of the signed-in role; guides and screenshots need a signed-in user."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.web import Web


def test_help_opens_the_guide_of_ones_role(web: Web) -> None:
    client = web.browser_client("manager")
    r = client.get("/help", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/help/manager"
    page = client.get("/help/manager")
    assert page.template.name == "help.html"  # type: ignore[attr-defined]
    assert page.context["page"].title == "The sales manager's week"  # type: ignore[attr-defined]
    assert "Reassign" in page.text


def test_unknown_guide_and_image_are_not_found(web: Web) -> None:
    client = web.browser_client("rep")
    assert client.get("/help/ceo").status_code == 422
    assert client.get("/help/img/..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/help/img/nothing.png").status_code == 404


def test_help_needs_a_signed_in_user(web: Web) -> None:
    r = TestClient(web.app).get("/help/rep", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303
