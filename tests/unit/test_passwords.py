"""Password rules and the secret-key policy: pure, no database."""

from __future__ import annotations

import pytest

from leadloop.auth.model import WeakPassword, check_password
from leadloop.auth.secret import InsecureSecretKey, choose_key

GOOD_KEY = "k" * 20 + "Q2x9-wP0_fj4Tz8s"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-one", "at least 12"),
        ("rita@test.example", "e-mail"),
        ("my-rita-password", "e-mail"),
        ("password1234", "most guessed"),
        ("aaaaaaaaaaaaaaa", "most guessed"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_password(password, email="rita@test.example")


def test_a_long_uncommon_password_is_fine() -> None:
    assert check_password("correct horse battery", email="rita@test.example")


def test_the_app_factory_makes_up_a_key_only_for_itself() -> None:
    choice = choose_key(None, host=None, random_key="r" * 43)
    assert choice.generated and choice.key == "r" * 43
    assert not choose_key(GOOD_KEY, host="0.0.0.0", random_key="x").generated


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_localhost_may_run_without_a_key(host: str) -> None:
    assert choose_key(None, host=host, random_key="r" * 43).generated


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_a_reachable_server_needs_a_key_and_is_told_how_to_make_one(host: str) -> None:
    with pytest.raises(InsecureSecretKey, match=r"secrets\.token_urlsafe\(32\)"):
        choose_key(None, host=host, random_key="r" * 43)


def test_the_old_default_key_is_refused_everywhere() -> None:
    for host in (None, "127.0.0.1", "0.0.0.0"):
        with pytest.raises(InsecureSecretKey):
            choose_key("dev-only-secret-change-me", host=host, random_key="r" * 43)
