"""The demo world tells the loop's story: hand-raises touched faster open more deals (an Oldroyd
curve), fit and engagement decide wins, some lost deals come back and win, and deals have contact
roles with one primary each."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from leadloop.demo.world import World, build_world

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, n_accounts=1500, n_people=6000, now=NOW)


def test_a_faster_first_touch_opens_more_deals(world: World) -> None:
    with_deal = {o["account_external_id"] for o in world.opportunities}
    buckets: Counter[str] = Counter()
    deals: Counter[str] = Counter()
    for acct, (raised, touched) in world.touches.items():
        if touched is None:
            bucket = "never"
        else:
            minutes = (touched - raised) / timedelta(minutes=1)
            bucket = "under 5 min" if minutes < 5 else ("under 1 h" if minutes < 60 else "later")
        buckets[bucket] += 1
        deals[bucket] += acct in with_deal
    rate = {b: deals[b] / buckets[b] for b in buckets}
    assert min(buckets.values()) >= 20, buckets
    assert rate["under 5 min"] > 1.5 * rate["under 1 h"] > 1.5 * rate["later"] > rate["never"], rate


def test_lost_deals_come_back_and_some_win(world: World) -> None:
    comebacks = [o for o in world.opportunities if o["external_id"].endswith("-R")]
    assert len(comebacks) >= 5
    assert any(o.get("outcome") == "won" for o in comebacks)
    first = {o["external_id"]: o for o in world.opportunities}
    for o in comebacks:
        before = first[o["external_id"].removesuffix("-R")]
        assert before["outcome"] == "lost" and before["closed_at"] < o["created_at"]


def test_every_deal_has_one_primary_contact_of_its_account(world: World) -> None:
    primaries = Counter(
        r["opportunity_external_id"] for r in world.contact_roles if r["is_primary"] == "true"
    )
    assert set(primaries) == {o["external_id"] for o in world.opportunities}
    assert set(primaries.values()) == {1}
    assert len(world.contact_roles) > len(world.opportunities)  # colleagues join some deals
