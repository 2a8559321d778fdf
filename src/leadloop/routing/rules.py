"""The routing decision: pure. Facts about the lead in, the owner and the whole path out (every
rule evaluated and why it did or did not match, who was skipped and why), so the audit shows
exactly how a lead got its owner."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from leadloop.lifecycle.model import BDR_QUEUE
from leadloop.routing.document import Band, Owner, RuleSet, SlaPolicy, When
from leadloop.routing.pools import Candidate, blocked, pick

DESK_WHY = "a BDR calls to qualify it before field sales"
# A hand-over's rep the BDR chose (no rule did): the what-if tells a person's pick by this.
PICKED_WHY = "picked by the BDR"


@dataclass(frozen=True)
class Facts:
    country: str | None = None
    state: str | None = None
    postcode: str | None = None
    industry: str | None = None
    employees: float | None = None
    revenue: float | None = None
    grade: str | None = None
    product: str | None = None
    source: str | None = None
    account_keys: frozenset[str] = frozenset()  # external id, domain, name (case-folded)


@dataclass(frozen=True)
class StickyOwner:
    user_id: int
    email: str
    unavailable: str | None  # only "inactive" blocks stickiness; being away does not move an account


@dataclass(frozen=True)
class EarlierOwner:
    """The last person who owned a lead that comes back from remarketing (a hand-raise on a
    rejected, cooled or lost lead): offered it before any rule, if they can take it."""

    user_id: int
    email: str
    unavailable: str | None  # inactive, out of office, a public holiday (outside hours is not)
    bdr: bool = False  # a desk BDR: a hand-raise goes past the desk, so the rules choose


@dataclass
class Decision:
    kind: str  # user | queue | partner
    name: str  # e-mail, queue or partner name
    user_id: int | None = None
    pool: str | None = None
    pool_credits: dict[int, float] = field(default_factory=dict)
    summary: str = ""
    path: list[dict[str, Any]] = field(default_factory=list)
    alert: str | None = None  # e.g. every pool member unavailable
    desk: bool = False  # sent to the qualification desk (the BDR queue or a BDR pool)


def _fold(values: list[str] | None) -> set[str]:
    return {v.strip().casefold() for v in values or []}


def _postcode_matches(patterns: list[str], code: str | None) -> bool:
    if not code:
        return False
    c = code.strip().upper().replace(" ", "")
    for p in patterns:
        q = p.strip().upper().replace(" ", "")
        if "-" in q:
            lo, hi = q.split("-", 1)
            if lo.isdigit() and hi.isdigit():
                head = c[: len(lo)]
                if head.isdigit() and len(head) == len(lo) and int(lo) <= int(head) <= int(hi):
                    return True
            elif lo <= c <= hi:
                return True
        elif q.endswith("*"):
            if c.startswith(q[:-1]):
                return True
        elif c == q:
            return True
    return False


def test(when: When | None, f: Facts) -> str | None:
    """None when every condition holds; otherwise the first that does not, in words."""
    if when is None:
        return None
    checks: list[tuple[bool, str]] = []
    for name, values, actual in (
        ("country", when.country, f.country),
        ("state", when.state, f.state),
        ("industry", when.industry, f.industry),
        ("grade", when.grade, f.grade),
        ("product", when.product, f.product),
        ("source", when.source, f.source),
    ):
        if values is not None:
            folded = _fold([str(v) for v in values])
            if name == "country":
                folded = {_country(v) for v in folded}
            checks.append(
                (
                    (actual or "").casefold() in folded,
                    f"{name} is {actual or 'empty'}, not one of {', '.join(map(str, values))}",
                )
            )
    for name, band, number in (
        ("employees", when.employees, f.employees),
        ("revenue", when.revenue, f.revenue),
    ):
        if band is not None:
            checks.append((band.holds(number), f"{name} {_num(number)} is outside {_band(band)}"))
    if when.postcode is not None:
        checks.append(
            (
                _postcode_matches(when.postcode, f.postcode),
                f"postcode {f.postcode or 'empty'} is not in {', '.join(when.postcode)}",
            )
        )
    if when.accounts is not None:
        checks.append((bool(_fold(when.accounts) & f.account_keys), "not a named account"))
    return next((why for ok, why in checks if not ok), None)


def _country(v: str) -> str:
    from leadloop.contract.normalise import normalise_country

    return (normalise_country(v) or v).casefold()


def _num(v: float | None) -> str:
    return "unknown" if v is None else f"{v:,.0f}"


def _band(b: Band) -> str:
    return f"{_num(b.min) if b.min is not None else '…'}–{_num(b.max) if b.max is not None else '…'}"


def sla_policy(rs: RuleSet, f: Facts, *, hand_raise: str | None = None) -> SlaPolicy | None:
    """The first policy whose conditions hold; for a hand-raise, the fastest of them all, whatever
    its conditions (a buyer who asked to talk is the hottest lead there is)."""
    if hand_raise is not None and rs.sla:
        return min(rs.sla, key=lambda p: p.first_touch_minutes)
    return next((p for p in rs.sla if test(p.when, f) is None), None)


def decide(
    rs: RuleSet,
    f: Facts,
    *,
    sticky: StickyOwner | None,
    pools: dict[str, list[Candidate]],
    resolve: dict[str, tuple[int, str | None]],
    exclude: frozenset[int] = frozenset(),
    qualified_by: str | None = None,
    past_desk: bool = False,
    earlier: EarlierOwner | None = None,
) -> Decision:
    """`pools`: each pool's members with their state; `resolve`: user e-mail -> (id, why unavailable);
    `exclude`: users who may not get this lead (the owner it is being taken from); `qualified_by`:
    the BDR who qualified it, when it is being handed to field sales; `past_desk`: the lead is beyond
    MQL (a reassignment of a handed-over or accepted lead). Either way the desk's rules are passed.
    `earlier`: a reactivated lead's earlier owner, who gets it first if they can take it."""
    path: list[dict[str, Any]] = []
    if qualified_by is not None:
        path.append(
            {"step": "qualification desk", "result": "qualified", "why": f"handed over by {qualified_by}"}
        )
    if earlier is not None:
        why_not = earlier_blocked(earlier, pools, exclude, past_desk=past_desk)
        if why_not is None:
            path.append(
                {
                    "step": "earlier owner",
                    "result": "assigned",
                    "why": f"{earlier.email} owned it before; a reactivated lead goes back to them first",
                }
            )
            return Decision(
                "user", earlier.email, earlier.user_id, summary=f"earlier owner {earlier.email}", path=path
            )
        path.append({"step": "earlier owner", "result": "skipped", "why": f"{earlier.email}: {why_not}"})
    if rs.account_owner_sticky and sticky is not None:
        if sticky.user_id in exclude:
            path.append(
                {
                    "step": "account owner",
                    "result": "skipped",
                    "why": f"{sticky.email} is the owner it is taken from",
                }
            )
        elif sticky.unavailable:
            path.append(
                {"step": "account owner", "result": "skipped", "why": f"{sticky.email}: {sticky.unavailable}"}
            )
        else:
            path.append(
                {
                    "step": "account owner",
                    "result": "assigned",
                    "why": f"the account is owned by {sticky.email}",
                }
            )
            return Decision(
                "user", sticky.email, sticky.user_id, summary=f"account owner {sticky.email}", path=path
            )
    for rule in rs.rules:
        if (qualified_by is not None or past_desk) and rule.assign.bdr is not None:
            why = "sends leads to the desk; this one is " + ("qualified" if qualified_by else "past it")
            path.append({"step": f"rule {rule.name}", "result": "passed", "why": why})
            continue
        why_not = test(rule.when, f)
        if why_not is not None:
            path.append({"step": f"rule {rule.name}", "result": "no match", "why": why_not})
            continue
        path.append(
            {
                "step": f"rule {rule.name}",
                "result": "matched",
                "why": "catch-all" if rule.when is None else "every condition holds",
            }
        )
        got = _assign(rule.assign, pools, resolve, exclude, path, via=f"rule {rule.name}", rs=rs)
        if got is not None:
            return got
        break
    else:
        path.append({"step": "rules", "result": "no match", "why": "no rule matched"})
    return _fallback(rs, resolve, path)


def earlier_blocked(
    earlier: EarlierOwner,
    pools: dict[str, list[Candidate]],
    exclude: frozenset[int] = frozenset(),
    *,
    past_desk: bool = False,
) -> str | None:
    """Why the earlier owner cannot take the lead back now, or None: inactive or away (as the
    handler found them), the owner it is taken from, a BDR when the lead goes past the desk, or at
    a daily or weekly cap in any pool they belong to (the caps count every lead they were given)."""
    if earlier.user_id in exclude:
        return "the owner it is taken from"
    if earlier.unavailable:
        return earlier.unavailable
    if earlier.bdr and past_desk:
        return "a BDR, and a hand-raise goes straight to field sales"
    for members in pools.values():
        for c in members:
            # Their hours are not a reason here (business-time clocks wait); a cap is.
            if c.user_id == earlier.user_id and (why := blocked(replace(c, unavailable=None))):
                return why
    return None


def _assign(
    owner: Owner,
    pools: dict[str, list[Candidate]],
    resolve: dict[str, tuple[int, str | None]],
    exclude: frozenset[int],
    path: list[dict[str, Any]],
    *,
    via: str,
    rs: RuleSet,
) -> Decision | None:
    if owner.bdr == "queue":
        path.append({"step": "qualification desk", "result": "assigned", "why": f"{BDR_QUEUE}: {DESK_WHY}"})
        return Decision("queue", BDR_QUEUE, summary=f"{via} → {BDR_QUEUE} ({DESK_WHY})", path=path, desk=True)
    if owner.bdr is not None:  # a pool of BDRs: the same turns as any pool, and the desk's reason
        got = _assign(Owner(pool=owner.bdr), pools, resolve, exclude, path, via=via, rs=rs)
        if got is not None and got.kind == "user":
            got.desk = True
            got.summary += f" ({DESK_WHY})"
        return got
    if owner.pool is not None:
        members = [c for c in pools.get(owner.pool, [])]
        members = [c if c.user_id not in exclude else _excluded(c) for c in members]
        chosen = pick(rs.pools[owner.pool].mode, members)
        for email, blocked_by in chosen.skipped:
            path.append({"step": f"pool {owner.pool}", "result": "skipped", "why": f"{email}: {blocked_by}"})
        if chosen.chosen is None:
            path.append(
                {
                    "step": f"pool {owner.pool}",
                    "result": "empty",
                    "why": "every member is unavailable or at capacity",
                }
            )
            decision = _fallback(rs, resolve, path)
            decision.alert = f"pool {owner.pool!r}: every member is unavailable or at capacity; the lead went to the fallback"
            return decision
        c = chosen.chosen
        mode = rs.pools[owner.pool].mode.replace("_", " ")
        path.append(
            {"step": f"pool {owner.pool}", "result": "assigned", "why": f"{c.email} is next ({mode})"}
        )
        return Decision(
            "user",
            c.email,
            c.user_id,
            pool=owner.pool,
            pool_credits=chosen.credits,
            summary=f"{via} → pool {owner.pool} → {c.email}",
            path=path,
        )
    if owner.user is not None:
        found: tuple[int | None, str | None] = resolve.get(owner.user.lower(), (None, "not a user"))
        uid, why = found
        if uid is None or uid in exclude or why == "inactive":
            reason = "the owner it is taken from" if uid in exclude else (why or "not a user")
            path.append({"step": f"user {owner.user}", "result": "skipped", "why": reason})
            return None
        path.append({"step": f"user {owner.user}", "result": "assigned", "why": why or "available"})
        return Decision("user", owner.user.lower(), uid, summary=f"{via} → {owner.user}", path=path)
    path.append({"step": f"{owner.kind} {owner.name}", "result": "assigned", "why": via})
    return Decision(owner.kind, owner.name, summary=f"{via} → {owner.kind} {owner.name}", path=path)


def _excluded(c: Candidate) -> Candidate:
    return replace(c, unavailable="the owner it is taken from")


def _fallback(
    rs: RuleSet, resolve: dict[str, tuple[int, str | None]], path: list[dict[str, Any]]
) -> Decision:
    fb = rs.fallback
    path.append({"step": "fallback", "result": "assigned", "why": f"{fb.kind} {fb.name}"})
    if fb.user is not None:
        uid, _ = resolve.get(fb.user.lower(), (None, None))
        return Decision("user", fb.user.lower(), uid, summary=f"fallback → {fb.user}", path=path)
    return Decision(fb.kind, fb.name, summary=f"fallback → {fb.kind} {fb.name}", path=path)
