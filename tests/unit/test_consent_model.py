"""The pure rules of consent: what governs a type, what may change it, what a merge and an unmerge
leave, when implied consent runs out, and the send gate's decision and its reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.consent import model as c
from leadloop.consent.decision import Reason, Recipient, decide, domains_of, suppressed_by
from leadloop.consent.model import ALL, Basis, Change, Plan, Status

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CODES = ("newsletter", "events")


def _plan(*steps: Change | None) -> dict[str, c.State]:
    plan = Plan({1: {}}, NOW)
    for step in steps:
        plan.add(1, step)
    return plan.states(1)


def _grant(states: c.States, code: str = "newsletter", **kw: object) -> Change | None:
    args: dict[str, object] = {"basis": Basis.CONSENT, "explicit": False, "source": "import", "now": NOW}
    return c.grant(states, code, **{**args, **kw})  # type: ignore[arg-type]


def test_the_later_of_a_type_and_all_governs_by_the_order_of_the_log() -> None:
    states = _plan(Change("newsletter", Status.GRANTED, Basis.CONSENT, "form"))
    states = c.apply(states, [Change(ALL, Status.WITHDRAWN, None, "unsubscribe")], now=NOW, first_seq=2)
    assert c.effective(states, "newsletter", NOW).status == Status.WITHDRAWN  # type: ignore[union-attr]
    assert c.effective(states, "a_type_added_later", NOW).status == Status.WITHDRAWN  # type: ignore[union-attr]
    again = c.apply(
        states, [Change("events", Status.GRANTED, Basis.CONSENT, "preferences")], now=NOW, first_seq=3
    )
    assert c.effective(again, "events", NOW).status == Status.GRANTED  # type: ignore[union-attr]
    assert c.effective(again, "newsletter", NOW).status == Status.WITHDRAWN  # type: ignore[union-attr]


@given(
    st.lists(st.tuples(st.sampled_from(["grant", "withdraw", "withdraw_all"]), st.booleans()), max_size=12)
)
def test_a_withdrawal_is_undone_only_by_the_persons_own_explicit_consent(
    steps: list[tuple[str, bool]],
) -> None:
    """ADR 0004 over any sequence: once withdrawn, a type stays withdrawn until an explicit grant."""
    plan = Plan({1: {}}, NOW)
    withdrawn = False
    for action, explicit in steps:
        states = plan.states(1)
        if action == "grant":
            plan.add(1, _grant(states, explicit=explicit))
            withdrawn = withdrawn and not explicit
        else:
            plan.add(
                1, c.withdraw(states, ALL if action == "withdraw_all" else "newsletter", source="x", now=NOW)
            )
            withdrawn = True
        state = c.effective(plan.states(1), "newsletter", NOW)
        assert (state is not None and state.status == Status.WITHDRAWN) == withdrawn


def test_changes_that_change_nothing_are_not_logged() -> None:
    states = _plan(_grant({}))
    assert _grant(states) is None
    out = _plan(c.withdraw({}, ALL, source="u", now=NOW))
    assert c.withdraw(out, ALL, source="u", now=NOW) is None
    assert c.withdraw(out, "newsletter", source="u", now=NOW) is None
    back = c.apply(out, [_grant(out, explicit=True)], now=NOW, first_seq=9)  # type: ignore[list-item]
    assert c.withdraw(back, ALL, source="u", now=NOW) is not None  # something was granted since


def test_implied_consent_never_replaces_an_express_one_and_only_extends() -> None:
    soon, later = NOW + timedelta(days=30), NOW + timedelta(days=60)
    implied = _plan(_grant({}, basis=Basis.IMPLIED, expires_at=soon))
    assert c.effective(implied, "newsletter", NOW).basis == Basis.IMPLIED  # type: ignore[union-attr]
    assert _grant(implied, basis=Basis.IMPLIED, expires_at=soon - timedelta(days=1)) is None
    assert _grant(implied, basis=Basis.IMPLIED, expires_at=later).expires_at == later  # type: ignore[union-attr]
    express = _plan(_grant({}))
    assert _grant(express, basis=Basis.IMPLIED, expires_at=later) is None
    assert _grant({}, basis=Basis.IMPLIED, expires_at=NOW) is None  # already over


@given(st.integers(min_value=-400, max_value=400), st.integers(min_value=1, max_value=365))
def test_implied_consent_reads_as_expired_from_its_end_even_before_the_timer(offset: int, days: int) -> None:
    granted_at = NOW + timedelta(days=offset)
    states = _plan(
        Change("newsletter", Status.GRANTED, Basis.IMPLIED, "inquiry", granted_at + timedelta(days=days))
    )
    end = granted_at + timedelta(days=days)
    state = c.effective(states, "newsletter", NOW)
    assert state is not None and (state.status == Status.EXPIRED) == (end <= NOW)
    assert c.next_expiry(states, NOW) == max(end, NOW)
    assert bool(c.expire(states, now=NOW)) == (end <= NOW)


def test_an_unsubscribe_from_all_overtakes_the_expiry_timer() -> None:
    states = _plan(
        Change("newsletter", Status.GRANTED, Basis.IMPLIED, "inquiry", NOW + timedelta(days=3)),
        Change(ALL, Status.WITHDRAWN, None, "unsubscribe"),
    )
    assert c.next_expiry(states, NOW) is None
    assert c.expire(states, now=NOW + timedelta(days=9)) == []


def test_double_opt_in_waits_then_confirms() -> None:
    pending = _plan(_grant({}, explicit=True, pending=True))
    assert c.effective(pending, "newsletter", NOW).status == Status.PENDING  # type: ignore[union-attr]
    assert _grant(pending, explicit=True, pending=True) is None  # one confirmation mail, not two
    assert c.confirm(pending, "newsletter", now=NOW).status == Status.GRANTED  # type: ignore[union-attr]
    assert c.confirm({}, "newsletter", now=NOW) is None


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ((), None),
        ((Change("newsletter", Status.GRANTED, Basis.CONSENT, "form"),), True),
        ((Change("newsletter", Status.GRANTED, Basis.IMPLIED, "inquiry", NOW + timedelta(days=9)),), None),
        ((Change("events", Status.GRANTED, Basis.LEGITIMATE_INTEREST, "staff"),), None),
        ((Change(ALL, Status.WITHDRAWN, None, "unsubscribe"),), False),
        ((Change("newsletter", Status.WITHDRAWN, None, "preferences"),), False),
        (
            (Change(ALL, Status.WITHDRAWN, None, "u"), Change("events", Status.GRANTED, Basis.CONSENT, "p")),
            True,
        ),
    ],
)
def test_email_opt_in_is_derived(steps: tuple[Change, ...], expected: bool | None) -> None:
    assert c.summary(_plan(*steps), CODES, NOW) is expected


@given(
    st.sampled_from([None, "granted", "withdrawn", "withdraw_all", "implied"]),
    st.sampled_from([None, "granted", "withdrawn", "withdraw_all", "implied"]),
)
def test_a_merge_keeps_the_most_restrictive_of_both(mine: str | None, theirs: str | None) -> None:
    def states(what: str | None) -> dict[str, c.State]:
        step = {
            None: None,
            "granted": Change("newsletter", Status.GRANTED, Basis.CONSENT, "form"),
            "withdrawn": Change("newsletter", Status.WITHDRAWN, None, "preferences"),
            "withdraw_all": Change(ALL, Status.WITHDRAWN, None, "unsubscribe"),
            "implied": Change(
                "newsletter", Status.GRANTED, Basis.IMPLIED, "inquiry", NOW + timedelta(days=5)
            ),
        }[what]
        return _plan(step)

    survivor, merged = states(mine), states(theirs)
    plan = Plan({1: survivor}, NOW)
    for change in c.merge(survivor, merged, CODES, now=NOW, detail=c.merge_detail(2)):
        plan.add(1, change)
    after = c.effective(plan.states(1), "newsletter", NOW)
    sides = {mine, theirs}
    if sides & {"withdrawn", "withdraw_all"}:
        assert after is not None and after.status == Status.WITHDRAWN
    elif "granted" in sides:
        assert after is not None and (after.status, after.basis) == (Status.GRANTED, Basis.CONSENT)
    elif "implied" in sides:
        assert after is not None and after.basis == Basis.IMPLIED
    else:
        assert after is None


def test_an_unmerge_takes_back_what_the_merge_added_and_keeps_a_later_opt_out() -> None:
    survivor = _plan(Change("newsletter", Status.GRANTED, Basis.CONSENT, "import"))
    merged = _plan(Change(ALL, Status.WITHDRAWN, None, "import"))
    plan = Plan({1: survivor}, NOW)
    for change in c.merge(survivor, merged, CODES, now=NOW, detail=c.merge_detail(2)):
        plan.add(1, change)
    log = [
        c.State(ch.scope, ch.status, ch.basis, NOW, i + 1, ch.source, ch.expires_at, ch.detail)
        for i, (_, ch) in enumerate(
            [(1, Change("newsletter", Status.GRANTED, Basis.CONSENT, "import")), *plan.entries]
        )
    ]
    assert c.summary(plan.states(1), CODES, NOW) is False
    mine, theirs = c.unmerge(log, merged, survivor_id=1, merged_id=2, now=NOW)
    back = c.apply(plan.states(1), mine, now=NOW, first_seq=100)
    assert c.summary(back, CODES, NOW) is True and theirs == []
    # An unsubscribe while they were one person stays with both.
    later = [*log, c.State("events", Status.WITHDRAWN, None, NOW, 50, "unsubscribe")]
    mine, theirs = c.unmerge(later, {}, survivor_id=1, merged_id=2, now=NOW)
    assert [(t.scope, t.status) for t in theirs] == [("events", Status.WITHDRAWN)]


def test_subscription_types_from_settings() -> None:
    types = c.parse_types(["newsletter=Newsletter", "product_updates"])
    assert [(t.code, t.label) for t in types] == [
        ("newsletter", "Newsletter"),
        ("product_updates", "Product updates"),
    ]
    for bad in (["News Letter=x"], ["a=1", "a=2"], []):
        with pytest.raises(c.ConsentSettingsError):
            c.parse_types(bad)


def test_domains_cover_subdomains_never_the_top_level_alone() -> None:
    assert domains_of("ann@mail.acme.co.uk") == ["mail.acme.co.uk", "acme.co.uk", "co.uk"]
    assert suppressed_by("ann@mail.acme.com", set(), {"acme.com"}) == Reason.SUPPRESSED_DOMAIN
    assert suppressed_by("Ann@Acme.com", {"ann@acme.com"}, set()) == Reason.SUPPRESSED_ADDRESS
    assert suppressed_by("ann@acme.com", set(), {"com"}) is None


def test_the_gate_says_the_first_reason_that_refuses() -> None:
    granted = _plan(_grant({}))
    person = Recipient(1, "ann@acme.com")
    cases = [
        (None, granted, "newsletter", Reason.UNKNOWN_PERSON),
        (Recipient(1, "ann@acme.com", erased=True), granted, "newsletter", Reason.ERASED),
        (Recipient(1, None), granted, "newsletter", Reason.NO_ADDRESS),
        (Recipient(1, "not an address"), granted, "newsletter", Reason.INVALID_ADDRESS),
        (
            Recipient(1, "ann@acme.com", suppressed=Reason.SUPPRESSED_DOMAIN),
            granted,
            "newsletter",
            Reason.SUPPRESSED_DOMAIN,
        ),
        (person, granted, "webinars", Reason.UNKNOWN_TYPE),
        (person, {}, "newsletter", Reason.NO_CONSENT),
        (person, granted, "newsletter", Reason.CONSENT),
    ]
    for recipient, states, code, reason in cases:
        assert decide(recipient, states, code, CODES, NOW).reason == reason, reason
    out = c.apply(granted, [Change(ALL, Status.WITHDRAWN, None, "u")], now=NOW, first_seq=5)
    assert decide(person, out, "newsletter", CODES, NOW).reason == Reason.UNSUBSCRIBED
    implied = _plan(_grant({}, basis=Basis.IMPLIED, expires_at=NOW + timedelta(days=1)))
    assert decide(person, implied, "newsletter", CODES, NOW).allowed
    expired = decide(person, implied, "newsletter", CODES, NOW + timedelta(days=2))
    assert (expired.allowed, expired.reason) == (False, Reason.IMPLIED_CONSENT_EXPIRED)
