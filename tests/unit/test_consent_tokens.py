"""Signed links and the List-Unsubscribe headers: a token works for its person and address and
purpose, for as long as it may, and not one character changed; the headers fold within RFC 5322's
line limits through the standard library and read back to the same URLs."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from itsdangerous.encoding import base64_decode

from leadloop.consent import tokens
from leadloop.consent.gate import header_values, links
from leadloop.consent.policy import ConsentPolicy
from leadloop.core.mailpolicy import POLICY

KEY = "k" * 40
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ids = st.integers(min_value=1, max_value=2**31 - 1)
addresses = st.emails()
# Hypothesis takes naive bounds and adds the zone itself.
_LO, _HI = (datetime(y, 1, 1, tzinfo=UTC).replace(tzinfo=None) for y in (2021, 2099))
moments = st.datetimes(min_value=_LO, max_value=_HI, timezones=st.just(UTC))


@given(ids, addresses, moments)
def test_a_token_reads_back_as_its_person_and_address(pid: int, address: str, at: datetime) -> None:
    token = tokens.make(KEY, tokens.UNSUBSCRIBE, pid, address, at)
    claim = tokens.read(KEY, tokens.UNSUBSCRIBE, token, now=at, valid_days=60)
    assert claim.person_id == pid
    assert tokens.matches(KEY, claim, [None, address.upper()])  # addresses compare case-blind
    assert len(token) < 80 and token.isascii() and "/" not in token


@given(ids, st.integers(min_value=0, max_value=2000), st.integers(min_value=60, max_value=400))
def test_valid_for_whole_days_after_the_issue_day_and_not_one_more(pid: int, age: int, valid: int) -> None:
    token = tokens.make(KEY, tokens.UNSUBSCRIBE, pid, "ann@acme.com", NOW)
    later = NOW + timedelta(days=age)
    if age <= valid:
        assert tokens.read(KEY, tokens.UNSUBSCRIBE, token, now=later, valid_days=valid).person_id == pid
    else:
        with pytest.raises(tokens.ExpiredToken):
            tokens.read(KEY, tokens.UNSUBSCRIBE, token, now=later, valid_days=valid)


def _decoded(token: str) -> list[bytes | str]:
    out: list[bytes | str] = []
    for part in token.split("."):
        try:
            out.append(base64_decode(part))
        except Exception:  # not base64 at all: compare the text
            out.append(part)
    return out


@given(ids, st.data())
def test_any_change_to_a_token_is_refused(pid: int, data: st.DataObject) -> None:
    token = tokens.make(KEY, tokens.UNSUBSCRIBE, pid, "ann@acme.com", NOW)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    other = data.draw(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.").filter(
            lambda ch: ch != token[i]
        )
    )
    changed = token[:i] + other + token[i + 1 :]
    # The last character of a base64 segment carries spare bits: a change there that decodes to the
    # same bytes is the same token, not a forgery (itsdangerous decodes, then compares).
    assume(_decoded(changed) != _decoded(token))
    with pytest.raises(tokens.BadToken):
        tokens.read(KEY, tokens.UNSUBSCRIBE, changed, now=NOW, valid_days=60)


def test_a_token_is_for_one_purpose_one_key_one_address() -> None:
    token = tokens.make(KEY, tokens.UNSUBSCRIBE, 7, "ann@acme.com", NOW)
    for purpose, key in ((tokens.CONFIRM, KEY), (tokens.UNSUBSCRIBE, "x" * 40)):
        with pytest.raises(tokens.BadToken):
            tokens.read(key, purpose, token, now=NOW, valid_days=60)
    claim = tokens.read(KEY, tokens.UNSUBSCRIBE, token, now=NOW, valid_days=60)
    assert not tokens.matches(KEY, claim, ["bob@acme.com", None])
    for junk in ("", "abc", "x" * 500, "7.ab.cd.ef", "\udcff"):
        with pytest.raises(tokens.BadToken):
            tokens.read(KEY, tokens.UNSUBSCRIBE, junk, now=NOW, valid_days=60)


@pytest.mark.parametrize(
    "host", ["https://l.example", "https://leadloop.marketing.very-long-company-name.example.com"]
)
@pytest.mark.parametrize("mailto", ["", "unsubscribe@marketing.very-long-company-name.example.com"])
def test_the_headers_fold_between_uris_never_into_encoded_words(host: str, mailto: str) -> None:
    """The standard policy would fold a long URL into RFC 2047 encoded words, which no mail client
    decodes in List-Unsubscribe; ours folds between the URIs and keeps each one whole."""
    policy = ConsentPolicy(key=KEY, public_url=host, mailto=mailto)
    url, mailto_uri = links(policy, 2**31 - 1, "someone.with.a.long.name@example.com", NOW)
    headers = header_values(url, mailto_uri)
    msg = EmailMessage(policy=POLICY)
    msg["To"] = "someone.with.a.long.name@example.com"
    msg["Subject"] = "News"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content("hello")
    wire = msg.as_bytes(policy=POLICY.clone(linesep="\r\n"))
    head = wire.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?" not in head
    unfolded = head.replace("\r\n ", " ")
    assert f"List-Unsubscribe: <{url}>" in unfolded
    assert (f", <{mailto_uri}>" in unfolded) == bool(mailto)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in unfolded
    for line in head.split("\r\n"):
        assert len(line) <= 998  # RFC 5322 2.1.1: MUST
        assert len(line) <= 78 or line.strip(" ,").count("<") == 1  # SHOULD, but a URI is not broken
    back = email.message_from_bytes(wire, policy=email.policy.default)
    assert " ".join(str(back["List-Unsubscribe"]).split()) == headers["List-Unsubscribe"]


def test_the_standard_policy_alone_would_have_encoded_it() -> None:
    """Why core/mailpolicy.py exists: this fails the day the standard library stops doing it."""
    msg = EmailMessage()
    msg["List-Unsubscribe"] = "<https://leadloop.example.com/u/" + "x" * 90 + ">"
    assert b"=?utf-8?" in msg.as_bytes()
