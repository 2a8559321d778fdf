"""Routing rules as a document and the pure decision: conditions, stickiness, pools (fair under
membership changes, weighted, capacity, availability) and the fallback, each with its path."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.routing.document import RoutingDocumentError, parse_rules
from leadloop.routing.pools import Candidate, pick
from leadloop.routing.rules import Facts, StickyOwner, decide

RULES = """\
name: default
version: 1
fallback: {queue: Sales inbox}
pools:
  dach:
    mode: round_robin
    members:
      - {user: ana@x.io}
      - {user: ben@x.io, daily_cap: 2}
  smb:
    mode: weighted
    members:
      - {user: cat@x.io, weight: 3}
      - {user: dan@x.io, weight: 1}
rules:
  - name: Named accounts
    when: {accounts: [A-001, bigco.com]}
    assign: {user: eve@x.io}
  - name: DACH mid-market
    when: {country: [Germany, AT, ch], employees: {min: 200, max: 5000}, postcode: ["10000-19999", "8*"]}
    assign: {pool: dach}
  - name: Partner channel
    when: {source: [partner_referral]}
    assign: {partner: Acme Resellers}
  - name: Everyone else
    assign: {pool: smb}
sla:
  - {name: A-grade, when: {grade: [A]}, first_touch_minutes: 5, remind_at: 3, escalate_at: 5, reassign_at: 15}
"""
USERS = {
    e: (i, None) for i, e in enumerate(["ana@x.io", "ben@x.io", "cat@x.io", "dan@x.io", "eve@x.io"], start=1)
}


def _pools(**overrides: Candidate) -> dict[str, list[Candidate]]:
    base = {e: Candidate(uid, e) for e, (uid, _) in USERS.items()}
    base.update(overrides)
    return {
        "dach": [base["ana@x.io"], base["ben@x.io"]],
        "smb": [Candidate(3, "cat@x.io", weight=3), Candidate(4, "dan@x.io", weight=1)],
    }


def test_rules_in_order_with_the_path_explained() -> None:
    rs = parse_rules(RULES)
    berlin = Facts(country="DE", employees=800, postcode="10115", grade="A", product="analytics")
    d = decide(rs, berlin, sticky=None, pools=_pools(), resolve=USERS)
    assert (d.kind, d.name, d.pool) == ("user", "ana@x.io", "dach")
    assert d.path[0] == {"step": "rule Named accounts", "result": "no match", "why": "not a named account"}
    assert d.path[1]["result"] == "matched" and d.path[-1]["why"].startswith("ana@x.io is next")
    too_big = Facts(country="DE", employees=9000, postcode="10115")
    d2 = decide(rs, too_big, sticky=None, pools=_pools(), resolve=USERS)
    assert d2.path[1] == {
        "step": "rule DACH mid-market",
        "result": "no match",
        "why": "employees 9,000 is outside 200–5,000",
    }
    assert d2.pool == "smb"
    zurich = Facts(country="CH", employees=300, postcode="8001")
    assert decide(rs, zurich, sticky=None, pools=_pools(), resolve=USERS).pool == "dach"
    named = Facts(account_keys=frozenset({"bigco.com"}))
    assert decide(rs, named, sticky=None, pools=_pools(), resolve=USERS).name == "eve@x.io"
    partner = decide(rs, Facts(source="partner_referral"), sticky=None, pools=_pools(), resolve=USERS)
    assert (partner.kind, partner.name) == ("partner", "Acme Resellers")


def test_the_account_owner_keeps_the_account_unless_inactive() -> None:
    rs = parse_rules(RULES)
    f = Facts(country="DE", employees=800, postcode="10115")
    d = decide(rs, f, sticky=StickyOwner(9, "old@x.io", None), pools=_pools(), resolve=USERS)
    assert (d.name, d.user_id) == ("old@x.io", 9) and d.path == [
        {"step": "account owner", "result": "assigned", "why": "the account is owned by old@x.io"}
    ]
    gone = decide(rs, f, sticky=StickyOwner(9, "old@x.io", "inactive"), pools=_pools(), resolve=USERS)
    assert gone.pool == "dach" and gone.path[0]["why"] == "old@x.io: inactive"


def test_unavailable_and_capped_members_are_skipped_with_reasons_then_the_fallback_alerts() -> None:
    rs = parse_rules(RULES)
    f = Facts(country="DE", employees=800, postcode="10115")
    away = Candidate(1, "ana@x.io", unavailable="out of office until 2026-12-01 00:00 UTC")
    d = decide(rs, f, sticky=None, pools=_pools(**{"ana@x.io": away}), resolve=USERS)
    assert d.name == "ben@x.io"
    assert {
        "step": "pool dach",
        "result": "skipped",
        "why": "ana@x.io: out of office until 2026-12-01 00:00 UTC",
    } in d.path
    full = Candidate(2, "ben@x.io", today=2, daily_cap=2)
    d2 = decide(rs, f, sticky=None, pools=_pools(**{"ana@x.io": away, "ben@x.io": full}), resolve=USERS)
    assert (d2.kind, d2.name) == ("queue", "Sales inbox") and d2.alert is not None and "dach" in d2.alert
    assert {"step": "pool dach", "result": "skipped", "why": "ben@x.io: daily cap reached (2/2)"} in d2.path
    # Reassignment never hands the lead back to the owner it is taken from.
    d3 = decide(rs, f, sticky=None, pools=_pools(), resolve=USERS, exclude=frozenset({1}))
    assert d3.name == "ben@x.io"


def test_round_robin_stays_even_when_members_join_leave_and_return() -> None:
    members = [Candidate(i, f"u{i}") for i in (1, 2, 3)]
    credit: dict[int, float] = {}
    counts: Counter[int] = Counter()

    def assign(ms: list[Candidate]) -> int:
        p = pick(
            "round_robin", [Candidate(c.user_id, c.email, credit=credit.get(c.user_id, 0.0)) for c in ms]
        )
        assert p.chosen is not None
        credit.update(p.credits)
        counts[p.chosen.user_id] += 1
        return p.chosen.user_id

    assert [assign(members) for _ in range(6)] == [1, 2, 3, 1, 2, 3]
    # Member 4 joins and member 1 goes on leave for 40 leads: the others share them evenly.
    members.append(Candidate(4, "u4"))
    counts.clear()
    for _ in range(39):
        assign([c for c in members if c.user_id != 1])
    assert counts == Counter({2: 13, 3: 13, 4: 13})
    # Back from leave: one turn in four, not a burst of catch-up leads.
    first = [assign(members) for _ in range(8)]
    assert all(first.count(u) == 2 for u in (1, 2, 3, 4))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=5),
    st.integers(min_value=20, max_value=200),
)
def test_weighted_shares_follow_the_weights(weights: list[int], n: int) -> None:
    served = [0.0] * len(weights)
    counts = [0] * len(weights)
    for _ in range(n):
        p = pick(
            "weighted", [Candidate(i, f"u{i}", weight=w, credit=served[i]) for i, w in enumerate(weights)]
        )
        assert p.chosen is not None
        for uid, c in p.credits.items():
            served[uid] = c
        counts[p.chosen.user_id] += 1
    total = sum(weights)
    for i, w in enumerate(weights):  # within one lead of the exact share
        assert abs(counts[i] - n * w / total) <= 1.0 + 1e-9


def test_load_balanced_takes_the_fewest_open_leads() -> None:
    p = pick(
        "load_balanced",
        [Candidate(1, "a", open_leads=7), Candidate(2, "b", open_leads=3), Candidate(3, "c", open_leads=5)],
    )
    assert p.chosen is not None and p.chosen.user_id == 2


def test_bad_rule_sets_name_their_lines() -> None:
    with pytest.raises(RoutingDocumentError, match=r"line 1: fallback: Field required"):
        parse_rules("name: x\nrules: []\n")
    bad = RULES.replace("assign: {pool: smb}", "assign: {pool: nowhere}").replace("weight: 3", "weight: 0")
    with pytest.raises(RoutingDocumentError) as exc:
        parse_rules(bad)
    text = str(exc.value)
    assert "no pool named 'nowhere'" in text and "weight must be positive" in text
    assert f"line {bad.splitlines().index('      - {user: cat@x.io, weight: 0}') + 1}" in text
    with pytest.raises(RoutingDocumentError, match="unknown country 'Atlantis'"):
        parse_rules(RULES.replace("Germany", "Atlantis"))
    with pytest.raises(RoutingDocumentError, match="must come in that order"):
        parse_rules(RULES.replace("escalate_at: 5, reassign_at: 15", "escalate_at: 20, reassign_at: 15"))
    with pytest.raises(RoutingDocumentError, match="not a pool"):
        parse_rules(RULES.replace("fallback: {queue: Sales inbox}", "fallback: {pool: dach}"))
    no_catch_all = parse_rules(RULES.replace("  - name: Everyone else\n    assign: {pool: smb}\n", ""))
    assert no_catch_all.warnings() and "no rule is a catch-all" in no_catch_all.warnings()[0]
    assert parse_rules(RULES).warnings() == []
    assert parse_rules(parse_rules(RULES).to_yaml()) == parse_rules(RULES)
