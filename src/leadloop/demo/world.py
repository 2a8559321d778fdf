"""The simulated world: accounts with latent fit and intent, their people, campaigns, twelve months of
activity and the opportunities it led to. Seeded and pure: the same seed gives the same world.

Records come out as contract field maps (strings), exactly what a CSV import or the API would carry,
so the demo, the tests and the benchmarks all go through the real capture path.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadloop.demo import names as N

Record = dict[str, str]


@dataclass
class World:
    accounts: list[Record] = field(default_factory=list)
    people: list[Record] = field(default_factory=list)
    campaigns: list[Record] = field(default_factory=list)
    activities: list[Record] = field(default_factory=list)
    opportunities: list[Record] = field(default_factory=list)
    # People's roles on the opportunities (Salesforce's OpportunityContactRole, as contract fields).
    contact_roles: list[Record] = field(default_factory=list)
    # Speed to lead: account external id -> (hand-raise, first touch or None for never).
    touches: dict[str, tuple[datetime, datetime | None]] = field(default_factory=dict)
    # Hidden truth for quality benchmarks: account external id -> (fit, intent).
    latent: dict[str, tuple[float, float]] = field(default_factory=dict)


def _ascii(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if c.isascii() and (c.isalnum() or c in " -.'")
    )


def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalnum())


def _pick_weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([i[0] for i in items], weights=[i[1] for i in items])[0]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _business_time(rng: random.Random, t: datetime) -> datetime:
    """Move a moment onto a weekday during office hours (UTC, roughly), never later than `t`
    (a demo built just after midnight must not get activities from later today)."""
    hour = rng.choices(range(24), weights=[1] * 7 + [6, 10, 12, 12, 10, 8, 10, 12, 12, 10, 6, 3] + [1] * 5)[0]
    moved = t.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
    if moved > t:
        moved -= timedelta(days=1)
    while moved.weekday() >= 5:
        moved -= timedelta(days=1)
    return moved


def make_accounts(
    rng: random.Random, n: int
) -> tuple[list[Record], dict[str, tuple[float, float]], dict[str, str]]:
    accounts: list[Record] = []
    latent: dict[str, tuple[float, float]] = {}
    domains: dict[str, str] = {}
    used: set[str] = set()
    for i in range(n):
        country = _pick_weighted(rng, N.COUNTRIES)
        while True:
            core = f"{rng.choice(N.COMPANY_A)} {rng.choice(N.COMPANY_B)}"
            if core not in used or len(used) > len(N.COMPANY_A) * len(N.COMPANY_B) * 0.8:
                break
        if core in used:
            core = f"{core} {i}"
        used.add(core)
        name = f"{core} {rng.choice(N.SUFFIXES.get(country, ('Inc.',)))}"
        domain = _slug(core) + N.TLD[country]
        industry, sic, naics, bias, rev_per = rng.choice(N.INDUSTRIES)
        employees = max(2, int(math.exp(rng.gauss(4.6, 1.6))))
        revenue = int(employees * rev_per * 1000 * rng.uniform(0.6, 1.5))
        city, state, postcode = rng.choice(N.CITIES[country])
        size_fit = min(1.0, math.log10(employees) / 4)
        fit = max(0.0, min(1.0, 0.55 * bias + 0.45 * size_fit + rng.gauss(0, 0.12)))
        intent = rng.betavariate(1.3, 3.5)
        ext = f"A{i + 1:06d}"
        latent[ext] = (fit, intent)
        domains[ext] = domain
        accounts.append(
            {
                "external_id": ext,
                "name": name,
                "domain": domain,
                "industry": industry,
                "employees": str(employees),
                "annual_revenue": str(revenue),
                "country": country,
                "state": state,
                "city": city,
                "postcode": postcode,
                "sic_code": sic,
                "naics_code": naics,
                "sites": str(max(1, employees // rng.randint(150, 900))),
            }
        )
    # About one account in twenty is a subsidiary of a larger one.
    big = [a for a in accounts if int(a["employees"]) > 2000]
    for a in rng.sample(accounts, k=min(len(accounts) // 20, len(accounts))):
        if big:
            parent = rng.choice(big)
            if parent is not a and "parent_external_id" not in parent:
                a["parent_external_id"] = parent["external_id"]
    return accounts, latent, domains


def make_people(
    rng: random.Random, n: int, accounts: list[Record], domains: dict[str, str], now: datetime
) -> tuple[list[Record], dict[str, tuple[str, float]]]:
    people: list[Record] = []
    relevance: dict[str, tuple[str, float]] = {}
    weights = [math.log2(int(a["employees"]) + 2) for a in accounts]
    seen_emails: set[str] = set()
    for i in range(n):
        acct = rng.choices(accounts, weights=weights)[0]
        country = acct["country"]
        first, last = rng.choice(N.FIRST), rng.choice(N.LAST)
        dept, dept_rel = rng.choice(N.DEPARTMENTS)
        level = rng.choices(N.SENIORITIES, weights=[s[3] for s in N.SENIORITIES])[0]
        seniority, title_fmt, sen_rel, _ = level
        fs, ls = _slug(first), _slug(last)
        local = rng.choice((f"{fs}.{ls}", f"{fs[:1]}{ls}", f"{fs}", f"{fs}_{ls}", f"{ls}.{fs}"))
        free = rng.random() < 0.12
        domain = rng.choice(N.FREE_MAIL) if free else domains[acct["external_id"]]
        email = f"{local}@{domain}"
        k = 2
        while email in seen_emails:
            email = f"{local}{k}@{domain}"
            k += 1
        seen_emails.add(email)
        ext = f"P{i + 1:07d}"
        relevance[ext] = (acct["external_id"], dept_rel * 0.5 + sen_rel * 0.5)
        created = now - timedelta(days=rng.uniform(30, 720))
        person: Record = {
            "external_id": ext,
            "account_external_id": acct["external_id"] if rng.random() < 0.7 else "",
            "email": email if rng.random() < 0.97 else email.upper(),
            "first_name": first,
            "last_name": last,
            "title": title_fmt.format(d=dept),
            "seniority": seniority,
            "department": dept,
            "phone": N.PHONE_PREFIX[country] + f"{rng.randrange(10000):04d}" if rng.random() < 0.6 else "",
            "company": acct["name"],
            "website": "" if free else f"https://www.{domains[acct['external_id']]}/",
            "country": country
            if rng.random() < 0.8
            else {"US": "United States", "GB": "UK", "DE": "Germany"}.get(country, country),
            "state": acct["state"],
            "city": acct["city"],
            "postcode": acct["postcode"],
            "lead_source": rng.choice(
                ("Web", "Event", "Partner", "Paid Search", "Content", "Referral", "List")
            ),
            "created_at": _iso(created),
            "email_opt_in": rng.choice(("true", "true", "true", "false", "")),
        }
        people.append({k: v for k, v in person.items() if v})
    return people, relevance


def make_campaigns(now: datetime) -> list[Record]:
    out = []
    for i, (name, channel, cost) in enumerate(N.CAMPAIGNS):
        start = now - timedelta(days=360 - i * 20)
        out.append(
            {
                "external_id": f"C{i + 1:03d}",
                "name": name,
                "channel": channel,
                "cost": str(cost),
                "started_at": _iso(start),
                "ended_at": _iso(min(now, start + timedelta(days=120))),
            }
        )
    return out


_TYPE_WEIGHTS = (
    ("page_view", 30),
    ("email_sent", 12),
    ("email_open", 16),
    ("email_click", 7),
    ("content_download", 5),
    ("pricing_page_view", 4),
    ("webinar_registered", 3),
    ("webinar_attended", 2),
    ("event_attended", 1),
    ("form_submit", 2),
    ("demo_request", 1),
    ("trial_signup", 1),
    ("careers_page_view", 2),
    ("email_reply", 1),
    ("ad_click", 4),
    ("unsubscribe", 0),
    ("chat", 1),
)
_INTENT_TYPES = {
    "pricing_page_view": 3.0,
    "demo_request": 6.0,
    "trial_signup": 5.0,
    "form_submit": 2.5,
    "webinar_attended": 1.5,
}
_CAMPAIGN_FOR = {
    "email_sent": ("Newsletter", "Nurture – analytics"),
    "email_open": ("Newsletter", "Nurture – analytics"),
    "email_click": ("Newsletter", "Nurture – analytics"),
    "webinar_registered": ("Webinar: Data maturity", "Webinar: Automation ROI"),
    "webinar_attended": ("Webinar: Data maturity", "Webinar: Automation ROI"),
    "event_attended": ("Trade show – SaaStr", "Trade show – Web Summit"),
    "ad_click": ("Search – brand", "Search – competitors", "LinkedIn – ABM Q1", "LinkedIn – ABM Q3"),
    "content_download": ("eBook: Lead scoring",),
    "form_submit": ("Search – brand", "LinkedIn – ABM Q3", "Organic", "Review sites"),
    "demo_request": ("Search – competitors", "Organic", "Partner referrals", "Review sites"),
}


def make_activities(
    rng: random.Random,
    people: list[Record],
    relevance: dict[str, tuple[str, float]],
    latent: dict[str, tuple[float, float]],
    interest: dict[str, str],
    now: datetime,
    per_person: float,
) -> list[Record]:
    out: list[Record] = []
    centre = {a: now - timedelta(days=rng.uniform(0, 330)) for a in latent}
    for p in people:
        acct, rel = relevance[p["external_id"]]
        _fit, intent = latent[acct]
        n = _poisson(rng, per_person * (0.25 + 1.6 * intent) * (0.4 + rel))
        weights = [w * (_INTENT_TYPES.get(t, 1.0) ** (2 * intent - 0.5)) for t, w in _TYPE_WEIGHTS]
        types = rng.choices([t for t, _ in _TYPE_WEIGHTS], weights=weights, k=n)
        if rng.random() < 0.01:
            types.append("unsubscribe")
        for t in types:
            if rng.random() < 0.6:
                at = centre[acct] + timedelta(days=rng.gauss(0, 25))
            else:
                at = now - timedelta(days=rng.uniform(0, 365))
            at = _business_time(rng, min(now - timedelta(hours=1), max(now - timedelta(days=365), at)))
            rec: Record = {"email": p["email"].lower(), "occurred_at": _iso(at), "type": t}
            if t in _CAMPAIGN_FOR and rng.random() < 0.8:
                rec["campaign"] = rng.choice(_CAMPAIGN_FOR[t])
            if t in (
                "form_submit",
                "demo_request",
                "trial_signup",
                "pricing_page_view",
                "content_download",
                "webinar_attended",
            ):
                rec["product"] = interest[acct] if rng.random() < 0.85 else rng.choice(N.PRODUCTS)
            if t in ("page_view", "pricing_page_view", "careers_page_view"):
                rec["url"] = {"pricing_page_view": "/pricing", "careers_page_view": "/careers"}.get(
                    t, rng.choice(("/", "/blog/lead-scoring", "/product", "/customers"))
                )
            if t in ("email_sent",):
                rec["direction"] = "outbound"
            out.append(rec)
    out.sort(key=lambda r: r["occurred_at"])
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


# Speed to lead, the Oldroyd curve: minutes from the hand-raise to the first touch (None: never),
# each bucket's share of the hand-raises and how much it keeps of the chance of a deal (a first
# touch within 5 minutes rather than 30 gave about 21x the odds of qualifying in the study).
_RESPONSE = (
    ((0.5, 5), 0.14, 1.0),
    ((5, 30), 0.18, 0.45),
    ((30, 60), 0.14, 0.3),
    ((60, 1440), 0.26, 0.18),
    ((1440, 7200), 0.18, 0.1),
    (None, 0.10, 0.03),
)
_MEAN_KEPT = sum(share * kept for _, share, kept in _RESPONSE)
ROLES = ("decision maker", "champion", "influencer", "economic buyer", "user", "technical buyer")


def _first_touch(rng: random.Random, raised: datetime, now: datetime) -> tuple[datetime | None, float]:
    span, _, kept = rng.choices(_RESPONSE, weights=[w for _, w, _ in _RESPONSE])[0]
    if span is None:
        return None, kept
    touched = raised + timedelta(minutes=rng.uniform(*span))
    return (touched if touched < now else None), kept


def make_opportunities(
    rng: random.Random,
    activities: list[Record],
    people_by_email: dict[str, Record],
    relevance: dict[str, tuple[str, float]],
    latent: dict[str, tuple[float, float]],
    accounts: dict[str, Record],
    now: datetime,
) -> tuple[list[Record], list[Record], dict[str, tuple[datetime, datetime | None]], list[Record]]:
    """Opportunities follow hand-raises. Whether one opens depends on the hidden fit and intent and
    on how fast the first touch came (the Oldroyd curve); whether it is won, on fit, engagement
    (the account's activity) and speed, not on any scoring rule, so a scoring model has something
    real to learn. Some lost deals come back months later (a new hand-raise) and are won. Returns
    the opportunities, their contact roles, each hand-raise's first touch, and the comebacks'
    new hand-raises."""
    first_raise: dict[str, tuple[str, Record]] = {}
    engaged: dict[str, int] = {}
    for a in activities:
        person = people_by_email.get(a["email"])
        if person is None or "external_id" not in person:  # a twin (a private address) has none
            continue
        acct = relevance[person["external_id"]][0]
        engaged[acct] = engaged.get(acct, 0) + 1
        if a["type"] in ("demo_request", "trial_signup", "form_submit"):
            first_raise.setdefault(acct, (a["occurred_at"], person))
    by_account: dict[str, list[str]] = {}
    for ext, (acct, _) in relevance.items():
        by_account.setdefault(acct, []).append(ext)
    out: list[Record] = []
    roles: list[Record] = []
    touches: dict[str, tuple[datetime, datetime | None]] = {}
    comebacks: list[Record] = []
    for i, (acct, (at, person)) in enumerate(sorted(first_raise.items())):
        fit, intent = latent[acct]
        raised = datetime.fromisoformat(at.replace("Z", "+00:00"))
        touched, kept = _first_touch(rng, raised, now)
        touches[acct] = (raised, touched)
        base = 0.12 + 0.55 * fit * intent + 0.2 * intent
        if rng.random() > min(0.97, base * kept / _MEAN_KEPT):
            continue
        created = (touched or raised) + timedelta(days=rng.uniform(1, 20))
        if created >= now:
            continue
        emp = int(accounts[acct]["employees"])
        engagement = min(1.0, engaged.get(acct, 0) / 40)
        p_win = 1 / (1 + math.exp(-(-2.6 + 2.6 * fit + 1.2 * intent + 1.2 * engagement + 0.6 * kept)))
        ext = f"O{i + 1:06d}"
        rec = _deal(rng, ext, acct, person, created, emp, p_win, now)
        out.append(rec)
        roles += _roles(rng, ext, person["external_id"], by_account.get(acct, []))
        lost_at = rec.get("closed_at") if rec.get("outcome") == "lost" else None
        if lost_at is None or rng.random() > 0.3 + 0.4 * intent:
            continue
        # No lead dies: months after the loss the account raises its hand again, and often buys.
        back = datetime.fromisoformat(lost_at.replace("Z", "+00:00")) + timedelta(days=rng.uniform(60, 200))
        if back >= now - timedelta(days=5):
            continue
        back = _business_time(rng, back)
        comebacks.append(
            {"email": person["email"].lower(), "occurred_at": _iso(back), "type": "demo_request"}
        )
        again = _deal(
            rng,
            ext + "-R",
            acct,
            person,
            back + timedelta(days=rng.uniform(2, 12)),
            emp,
            min(0.95, p_win + 0.35),
            now,
        )
        if again["created_at"] < _iso(now):
            out.append(again)
            roles += _roles(rng, ext + "-R", person["external_id"], by_account.get(acct, []))
    return out, roles, touches, comebacks


def _deal(
    rng: random.Random,
    ext: str,
    acct: str,
    person: Record,
    created: datetime,
    emp: int,
    p_win: float,
    now: datetime,
) -> Record:
    amount = round(max(3000.0, math.exp(rng.gauss(math.log(8000 + emp * 25), 0.5))), -2)
    rec: Record = {
        "external_id": ext,
        "account_external_id": acct,
        "person_external_id": person["external_id"],
        "product": rng.choice(N.PRODUCTS) if rng.random() < 0.2 else "",
        "created_at": _iso(created),
        "amount": f"{amount:.0f}",
    }
    age = (now - created).days
    if age > 45 or rng.random() < age / 45:
        closed = min(now - timedelta(hours=1), created + timedelta(days=rng.uniform(20, 120)))
        won = rng.random() < p_win
        rec.update(
            {
                "outcome": "won" if won else "lost",
                "stage": "Closed Won" if won else "Closed Lost",
                "closed_at": _iso(closed),
            }
        )
        if not won:
            rec["lost_reason"] = rng.choice(("Price", "No decision", "Competitor", "Timing", "No budget"))
    else:
        rec.update({"outcome": "open", "stage": rng.choice(("Discovery", "Proposal", "Negotiation"))})
        rec["closed_at"] = _iso(now + timedelta(days=rng.uniform(10, 120)))  # when it is expected to close
    return {k: v for k, v in rec.items() if v}


def _roles(rng: random.Random, ext: str, primary: str, colleagues: list[str]) -> list[Record]:
    """The person who raised their hand is the primary contact; a colleague or two join the deal."""
    out = [
        {
            "opportunity_external_id": ext,
            "person_external_id": primary,
            "role": rng.choice(ROLES[:2]),
            "is_primary": "true",
        }
    ]
    others = [c for c in colleagues if c != primary]
    for c in rng.sample(others, min(len(others), rng.choice((0, 1, 1, 2)))):
        out.append(
            {
                "opportunity_external_id": ext,
                "person_external_id": c,
                "role": rng.choice(ROLES[2:]),
                "is_primary": "false",
            }
        )
    return out


def make_twins(
    rng: random.Random, people: list[Record], now: datetime, *, share: float = 0.03
) -> tuple[list[Record], list[Record]]:
    """The same person again, as a webinar sign-up with a private address: a nickname, a typo or
    just the free mail. Some carry the work phone (they merge by themselves), some do not (they
    wait for a person to review)."""
    from leadloop.demo.dupes import FORMAL, _typo

    twins: list[Record] = []
    acts: list[Record] = []
    for p in rng.sample(people, int(len(people) * share)):
        first, last = p["first_name"], p["last_name"]
        kind = rng.choice(("nickname", "typo", "same"))
        if kind == "nickname" and first in FORMAL:
            first = rng.choice(FORMAL[first])
        elif kind == "typo":
            last = _typo(rng, last)
        created = now - timedelta(days=rng.uniform(1, 25))
        twin: Record = {
            "first_name": first,
            "last_name": last,
            "company": p["company"],
            "city": p.get("city", ""),
            "country": p.get("country", ""),
            "phone": p.get("phone", "") if rng.random() < 0.5 else "",
            "email": f"{_slug(first)}.{_slug(last)}{rng.randrange(10, 99)}@{rng.choice(N.FREE_MAIL)}",
            "lead_source": "Webinar",
            "created_at": _iso(created),
        }
        twins.append({k: v for k, v in twin.items() if v})
        acts.append({"email": twin["email"], "occurred_at": _iso(created), "type": "webinar_attended"})
    return twins, acts


def make_account_twins(rng: random.Random, accounts: list[Record], *, share: float = 0.02) -> list[Record]:
    """Accounts a legacy CRM import holds twice, without a domain: under another legal suffix or
    with the words reordered (they merge by themselves in `dedupe --warehouse`), or misspelt (they
    wait for review)."""
    from leadloop.demo.dupes import _typo

    twins: list[Record] = []
    for k, a in enumerate(rng.sample(accounts, min(len(accounts), max(6, int(len(accounts) * share))))):
        words = a["name"].split(" ")
        core, country = " ".join(words[:-1]), a["country"]
        kind = ("suffix", "reorder", "typo")[k % 3]
        if kind == "suffix":
            name = f"{core} {rng.choice(N.SUFFIXES.get(country, ('Inc.',)))}"
        elif kind == "reorder":
            name = " ".join(reversed(core.split(" ")))
        else:
            longest = max(core.split(" "), key=len)
            name = core.replace(longest, _typo(rng, longest), 1)
        twins.append(
            {"external_id": f"LEGACY-{k + 1:05d}", "name": name, "country": country, "city": a["city"]}
        )
    return twins


def build_world(
    *, seed: int, n_accounts: int, n_people: int, now: datetime, per_person: float = 9.0
) -> World:
    rng = random.Random(seed)
    accounts, latent, domains = make_accounts(rng, n_accounts)
    interest = {a: rng.choice(N.PRODUCTS) for a in latent}
    people, relevance = make_people(rng, n_people, accounts, domains, now)
    campaigns = make_campaigns(now)
    activities = make_activities(rng, people, relevance, latent, interest, now, per_person)
    twins, twin_acts = make_twins(rng, people, now)
    people += twins
    accounts += make_account_twins(rng, accounts)
    activities += twin_acts
    by_email = {p["email"].lower(): p for p in people}
    opps, roles, touches, comebacks = make_opportunities(
        rng, activities, by_email, relevance, latent, {a["external_id"]: a for a in accounts}, now
    )
    activities += comebacks
    return World(accounts, people, campaigns, activities, opps, roles, touches, latent)


def make_people_rows(n: int, *, seed: int = 1, n_accounts: int | None = None) -> list[Record]:
    """Standalone people rows at scale (the import benchmark): fast, realistic, unique e-mails."""
    rng = random.Random(seed)
    n_accounts = n_accounts or max(1, n // 4)
    accounts, _, domains = make_accounts(rng, min(n_accounts, 5000))
    rows: list[Record] = []
    for i in range(n):
        acct = accounts[i % len(accounts)]
        first, last = rng.choice(N.FIRST), rng.choice(N.LAST)
        domain = domains[acct["external_id"]] if rng.random() > 0.12 else rng.choice(N.FREE_MAIL)
        rows.append(
            {
                "external_id": f"B{i:08d}",
                "email": f"{_slug(first)}.{_slug(last)}.{i}@{domain}",
                "first_name": first,
                "last_name": last,
                "company": acct["name"],
                "title": "Head of Operations",
                "country": acct["country"],
                "phone": N.PHONE_PREFIX[acct["country"]] + f"{i % 10000:04d}" if i % 2 == 0 else "",
                "city": acct["city"],
                "lead_source": "List",
            }
        )
    return rows
