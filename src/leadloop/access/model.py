"""The sharing model a sales org recognises, as pure rules.

- Admins and marketing see everything: the warehouse is theirs.
- A rep sees the leads they own, their team's (when teams share, a setting), and the leads waiting
  in a sales queue for someone to claim. Marketing's nurture queue is not a sales queue.
- A manager sees what their reports (all the way down) and their team see, and the sales queues;
  and every lead one of those people was ever assigned, wherever it is now: a lead a rep rejected
  late (back in nurture) or lost for the SLA is still a breach the manager must be able to open
  from the SLA report (routing/sla_clocks.py attributes each clock to whoever held it).
- A partner sees only the leads routed to their partner organisation.
- A BDR sees the leads waiting in the BDR queue (the qualification desk) and those they own, like a
  rep does their own; managers see the desk's queue too. Reps do not: a lead reaches field sales
  when a BDR hands it over.
People and accounts are seen through the leads: a person is visible when a lead of their account
is, or when the account is owned by someone whose leads are visible.
- Working a lead (accept, reject, log a call, convert) is for its owner, the managers above the
  owner, and admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from leadloop.auth.model import Role


@dataclass(frozen=True)
class Scope:
    """Whose leads someone may see."""

    everything: bool = False
    users: frozenset[int] = frozenset()  # leads owned by these users
    queues: frozenset[int] = frozenset()  # leads waiting in these queues (teams)
    partner_id: int | None = None  # leads routed to this partner
    held: frozenset[int] = frozenset()  # leads ever assigned to these users (the routing audit)

    def sees(
        self, owner_user_id: int | None, owner_team_id: int | None, owner_partner_id: int | None
    ) -> bool:
        """By the current owner alone (`held` needs the routing history: see lead_clause)."""
        if self.everything:
            return True
        if owner_user_id is not None:
            return owner_user_id in self.users
        if owner_team_id is not None:
            return owner_team_id in self.queues
        return owner_partner_id is not None and owner_partner_id == self.partner_id


EVERYTHING = Scope(everything=True)


def scope_for(
    role: Role,
    user_id: int,
    *,
    team_mates: Iterable[int] = (),
    reports: Iterable[int] = (),
    sales_queues: Iterable[int] = (),
    share_team: bool = True,
    partner_id: int | None = None,
    desk_queues: Iterable[int] = (),
) -> Scope:
    match role:
        case Role.ADMIN | Role.MARKETING:
            return Scope(everything=True)
        case Role.MANAGER:
            line = frozenset({user_id, *reports, *team_mates})
            return Scope(users=line, queues=frozenset(sales_queues) | frozenset(desk_queues), held=line)
        case Role.BDR:
            mates = frozenset(team_mates) if share_team else frozenset()
            return Scope(users=frozenset({user_id}) | mates, queues=frozenset(desk_queues))
        case Role.REP:
            mates = frozenset(team_mates) if share_team else frozenset()
            return Scope(users=frozenset({user_id}) | mates, queues=frozenset(sales_queues))
        case Role.PARTNER:
            return Scope(partner_id=partner_id)
    return Scope()  # an unknown role sees nothing


def may_work(role: Role, user_id: int, owner_user_id: int | None, owners_managers: Iterable[int]) -> bool:
    """Accept, reject, log a call, convert: the owner, a manager above the owner, or an admin."""
    if role is Role.ADMIN:
        return True
    if owner_user_id is not None and owner_user_id == user_id:
        return True
    return role is Role.MANAGER and user_id in set(owners_managers)


# Edit and reassign (issue 13, item 4): who may edit a person or an account.
def may_edit(
    role: Role, user_id: int, *, lead_owners: Iterable[int | None], account_owner: int | None
) -> bool:
    """Editing a person or an account the caller can already see: admins, marketing (the warehouse
    is theirs) and managers (their line's records) may; a rep only the records of an account where
    they own a lead or the account itself, not a team mate's or a queue's."""
    if role in (Role.ADMIN, Role.MARKETING, Role.MANAGER):
        return True
    return role is Role.REP and (user_id == account_owner or user_id in set(lead_owners))


def may_qualify(
    role: Role,
    user_id: int,
    *,
    owner_user_id: int | None,
    owner_team_id: int | None,
    desk_queue_id: int | None,
    owners_managers: Iterable[int],
) -> bool:
    """Fill in the qualification form or decide a lead's outcome at the desk: whoever may work the
    lead, and, for a lead waiting in the BDR queue, any BDR or manager (the queue is theirs to take)."""
    if may_work(role, user_id, owner_user_id, owners_managers):
        return True
    in_desk_queue = owner_user_id is None and owner_team_id is not None and owner_team_id == desk_queue_id
    return in_desk_queue and role in (Role.BDR, Role.MANAGER)
