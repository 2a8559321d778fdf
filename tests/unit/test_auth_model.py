from leadloop.auth.model import ALL_ROLES, STAFF, Principal, Role, key_matches, new_api_key, split_token


def test_api_key_round_trip() -> None:
    key = new_api_key()
    parts = split_token(key.token)
    assert parts == (key.prefix, key.secret)
    assert key_matches(key.hash, *parts)
    assert not key_matches(key.hash, key.prefix, key.secret + "x")


def test_malformed_tokens() -> None:
    for bad in ("", "ll_", "ll__x", "xx_a_b", "garbage"):
        assert split_token(bad) is None


def test_roles() -> None:
    rep = Principal(1, "r@x.com", "R", Role.REP, "session")
    assert rep.may(STAFF) and rep.may(ALL_ROLES)
    assert not Principal(2, "p@x.com", "P", Role.PARTNER, "session").may(STAFF)
