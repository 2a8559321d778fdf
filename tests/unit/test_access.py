"""The sharing model's pure rules."""

from __future__ import annotations

from leadloop.access.model import may_work, scope_for
from leadloop.auth.model import Role


def test_roles_see_what_a_sales_org_expects() -> None:
    assert scope_for(Role.ADMIN, 1).everything and scope_for(Role.MARKETING, 1).everything
    rep = scope_for(Role.REP, 1, team_mates=[2], sales_queues=[9])
    assert rep.sees(1, None, None) and rep.sees(2, None, None) and rep.sees(None, 9, None)
    assert not rep.sees(3, None, None) and not rep.sees(None, 8, None) and not rep.sees(None, None, 5)
    alone = scope_for(Role.REP, 1, team_mates=[2], share_team=False)
    assert not alone.sees(2, None, None)
    boss = scope_for(Role.MANAGER, 7, reports=[1, 2])
    assert boss.sees(1, None, None) and boss.sees(7, None, None) and not boss.sees(3, None, None)
    partner = scope_for(Role.PARTNER, 4, partner_id=5)
    assert partner.sees(None, None, 5) and not partner.sees(None, None, 6) and not partner.sees(None, 9, None)
    assert not scope_for(Role.PARTNER, 4).sees(4, None, None)  # a partner user owns nothing in-house


def test_working_a_lead_is_for_its_owner_a_manager_above_them_or_an_admin() -> None:
    assert may_work(Role.REP, 1, 1, [])
    assert not may_work(Role.REP, 2, 1, [])
    assert may_work(Role.MANAGER, 7, 1, [7, 8]) and may_work(Role.MANAGER, 8, 1, [7, 8])
    assert not may_work(Role.MANAGER, 9, 1, [7, 8])
    assert may_work(Role.ADMIN, 3, 1, [])
    assert not may_work(Role.MARKETING, 3, 1, [])  # marketing owns the warehouse, not sales' leads
    assert not may_work(Role.REP, 1, None, [])  # a queue's lead is claimed, not worked
