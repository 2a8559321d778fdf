"""Import in the app, the pure parts: country spellings, the CRM export headers checked, a peer
CRM's stages and owners, the lifecycle's carry-over, and where a run stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadloop.capture import model as m
from leadloop.capture import run_state
from leadloop.contract import normalise as n
from leadloop.contract.headers import map_headers
from leadloop.contract.peers import NOT_CARRIED, UserRef, default_stage, match_owner, name_key, stage_of
from leadloop.core.errors import InvalidInput
from leadloop.lifecycle.model import IllegalTransition, Stage, Trigger, carry_over

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Oesterreich", "AT"),
        ("Österreich", "AT"),
        ("Osterreich", "AT"),
        ("Republik Österreich", "AT"),
        ("Bundesrepublik Deutschland", "DE"),
        ("BRD", "DE"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("U.S.A.", "US"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("Vereinigte Staaten", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("Royaume-Uni", "GB"),
        ("Holland", "NL"),
        ("Nederland", "NL"),
        ("The Netherlands", "NL"),
        ("Niederlande", "NL"),
        ("Sverige", "SE"),
        ("España", "ES"),
        ("Italien", "IT"),
        ("Kroatien", "HR"),
        ("日本", "JP"),
        ("se", "SE"),
        ("DEU", "DE"),
    ],
)
def test_a_country_in_the_languages_we_sell_in(raw: str, code: str) -> None:
    assert n.normalise_country(raw) == code


def test_a_country_nobody_knows_is_said_plainly() -> None:
    with pytest.raises(InvalidInput, match="'Atlantis' is not an ISO 3166 country code or name"):
        n.normalise_country("Atlantis")
    assert n.country_key("Côte d'Ivoire") == "cote d ivoire" and n.country_key("U.S.A.") == "usa"


def test_a_person_is_never_refused_for_a_country_and_keeps_the_raw_value() -> None:
    p = m.parse_person({"email": "a@acme.com", "country": "Atlantis", "phone": "030 1234567"})
    assert p.country is None and p.attributes["country_raw"] == "Atlantis"
    assert (
        p.attributes["_warnings"][0]
        == "country: 'Atlantis' is not an ISO 3166 country code or name; kept as typed in country_raw"
    )
    a = m.parse_account({"name": "Acme", "country": "Narnia"})
    assert a.country is None and a.attributes["country_raw"] == "Narnia"


def test_a_people_row_carries_the_peers_state_and_the_accounts_facts_apart() -> None:
    p = m.parse_person(
        {
            "email": "a@acme.com",
            "owner": "Rita Rep",
            "lifecycle_stage": "Sales Qualified Lead",
            "lead_status": "In Progress",
            "annual_revenue": "$12,500,000",
            "employees": "1-10",
            "industry": "Software",
        }
    )
    assert (p.owner, p.lifecycle_stage, p.lead_status) == ("Rita Rep", "Sales Qualified Lead", "In Progress")
    assert (str(p.annual_revenue), p.employees, p.industry) == ("12500000", None, "Software")
    assert p.attributes["employees_raw"] == "1-10"  # a HubSpot size band is kept, not refused
    assert "owner" not in m.PERSON_FIELDS and p.carries()


def test_an_activity_without_a_time_takes_the_imports_and_says_so() -> None:
    started = NOW - timedelta(minutes=5)
    a = m.parse_activity({"email": "a@acme.com", "type": "webinar_attended"}, now=NOW, missing_time=started)
    assert a.occurred_at == started
    assert a.warnings == ["occurred_at: no time given; the import's time (2026-11-01 11:55 UTC) was used"]
    api = m.parse_activity({"email": "a@acme.com", "type": "page_view"}, now=NOW)
    assert api.occurred_at == NOW and api.warnings == []  # the API: it happens as it arrives


# The exports checked (HubSpot contacts export, Salesforce leads report, December 2026), header by
# header: what each becomes. "custom" stays on the person as typed (nothing of ours holds it).
HUBSPOT_CONTACTS = {
    "Record ID": "external_id",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Phone Number": "phone",
    "Mobile Phone Number": "custom",  # Phone Number takes the phone; the mobile is kept beside it
    "Job Title": "title",
    "Company Name": "company",
    "Website URL": "website",
    "Contact owner": "owner",
    "Lifecycle Stage": "lifecycle_stage",
    "Lead Status": "lead_status",
    "Annual Revenue": "annual_revenue",
    "Number of Employees": "employees",
    "Industry": "industry",
    "City": "city",
    "Country/Region": "country",
    "State/Region": "state",
    "Postal Code": "postcode",
    "Create Date": "created_at",
    "Last Activity Date": "custom",
    "Original Source": "lead_source",
    "Associated Company ID": "account_external_id",
    "Unsubscribed from all email": "email_opt_out",
    "Marketing contact status": "custom",
}
SALESFORCE_LEADS = {
    "Lead ID": "external_id",
    "Salutation": "custom",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Title": "title",
    "Company / Account": "company",
    "Email": "email",
    "Phone": "phone",
    "Mobile": "custom",
    "Lead Source": "lead_source",
    "Lead Status": "lead_status",
    "Lead Owner": "owner",
    "Rating": "custom",
    "Annual Revenue": "annual_revenue",
    "No. of Employees": "employees",
    "Website": "website",
    "Industry": "industry",
    "Street": "street",
    "City": "city",
    "State/Province": "state",
    "Zip/Postal Code": "postcode",
    "Country": "country",
    "Email Opt Out": "email_opt_out",
    "Created Date": "created_at",
    "Last Activity": "custom",
}


@pytest.mark.parametrize("export", [HUBSPOT_CONTACTS, SALESFORCE_LEADS], ids=["hubspot", "salesforce"])
def test_the_crm_exports_checked_map_header_by_header(export: dict[str, str]) -> None:
    headers = list(export)
    columns = map_headers("people", headers, {})
    got = {h: ("custom" if columns[i].startswith("_x_") else columns[i]) for i, h in enumerate(headers)}
    assert got == export


def test_website_url_and_revenue_land_on_the_account_in_an_accounts_file() -> None:
    headers = [
        "Record ID",
        "Company name",
        "Website URL",
        "Annual Revenue",
        "No. of Employees",
        "Country/Region",
    ]
    assert list(map_headers("accounts", headers, {}).values()) == [
        "external_id",
        "name",
        "domain",
        "annual_revenue",
        "employees",
        "country",
    ]


@pytest.mark.parametrize(
    ("value", "stage"),
    [
        ("Subscriber", "inquiry"),
        ("Lead", "inquiry"),
        ("Marketing Qualified Lead", "mql"),
        ("marketingqualifiedlead", "mql"),
        ("Sales Qualified Lead", "sql"),
        ("Opportunity", "opportunity"),
        ("Customer", "won"),
        ("Other", NOT_CARRIED),
        ("Open - Not Contacted", "mql"),
        ("Working - Contacted", "sal"),
        ("Closed - Converted", "sql"),
        ("Closed - Not Converted", "recycled"),
        ("IN_PROGRESS", "sal"),
        ("Bad timing", "nurture"),
        ("Sonstiges", None),
    ],
)
def test_a_peers_stage_values_mean_ours(value: str, stage: str | None) -> None:
    assert default_stage(value) == stage


def test_the_runs_choice_wins_and_dash_carries_nothing() -> None:
    assert stage_of("Sonstiges", {"Sonstiges": "nurture"}) == "nurture"
    assert stage_of("Customer", {"Customer": "-"}) is None
    assert stage_of("Customer", {}) == "won" and stage_of("Sonstiges", {}) is None


USERS = [
    UserRef(1, "rita@acme.com", "Rita Rep"),
    UserRef(2, "rafael@acme.com", "Rafael Rep"),
    UserRef(3, "jm@acme.com", "Jürgen Müller"),
    UserRef(4, "sam1@acme.com", "Sam Lee"),
    UserRef(5, "sam2@acme.com", "Sam Lee"),
]


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("rita@acme.com", 1),
        ("RITA@ACME.COM", 1),
        ("Rafael Rep", 2),
        ("Rafael Rep (rafael@acme.com)", 2),
        ("Müller, Jürgen", 3),
        ("jurgen muller", 3),
        ("Sam Lee", None),  # two users are called that: nobody is guessed
        ("Pieter Unknown", None),
        ("ghost@acme.com", None),
    ],
)
def test_an_owner_is_a_user_by_email_or_by_a_name_only_one_has(value: str, found: int | None) -> None:
    assert match_owner(value, USERS)[0] == found


def test_an_owner_not_found_says_why() -> None:
    assert match_owner("Sam Lee", USERS) == (None, "2 users are called 'Sam Lee'")
    assert match_owner("ghost@acme.com", USERS) == (None, "no user has the e-mail ghost@acme.com")
    assert name_key("  Ann   LEE ") == "ann lee"


S = Stage


@pytest.mark.parametrize(
    ("previous", "wanted", "to"),
    [
        (S.INQUIRY, S.SQL, S.SQL),  # marketing holds it: whatever the peer says
        (S.NURTURE, S.WON, S.WON),
        (S.INQUIRY, S.RECYCLED, S.RECYCLED),
        (S.MQL, S.OPPORTUNITY, S.OPPORTUNITY),  # sales holds it: only forward
        (S.SQL, S.MQL, None),  # never backwards: an old export does not undo Leadloop's work
        (S.SAL, S.SAL, None),
        (S.WON, S.OPPORTUNITY, None),  # closed stays closed
        (S.MERGED, S.SQL, None),
    ],
)
def test_a_peers_stage_carries_over_forward_only_once_sales_holds_the_lead(
    previous: Stage, wanted: Stage, to: Stage | None
) -> None:
    t = carry_over(previous, wanted)
    assert (t.to if t else None) == to
    if t:
        assert t.trigger is Trigger.IMPORTED


def test_nothing_carries_a_lead_into_merged() -> None:
    with pytest.raises(IllegalTransition):
        carry_over(S.INQUIRY, S.MERGED)


def test_a_run_whose_runner_stopped_beating_reads_interrupted_and_resumes() -> None:
    beat = NOW - run_state.STALE_AFTER - timedelta(seconds=1)
    assert run_state.state("running", NOW - timedelta(seconds=5), NOW) == "running"
    assert run_state.state("running", beat, NOW) == "interrupted"
    assert run_state.state("done", beat, NOW) == "done"
    assert run_state.resumable("interrupted") and run_state.resumable("failed")
    assert not run_state.resumable("running") and not run_state.resumable("done")
    # The total is an estimate from the file's lines: only a finished run shows 100.
    assert (run_state.percent(20, 20, "running"), run_state.percent(20, 20, "done")) == (99, 100)
    assert run_state.percent(5, 0, "running") == 0 and run_state.label("interrupted") == "Interrupted"


@pytest.mark.parametrize("first_two", [["_line", "_reason"], ["\ufeffLine", "Reason"]])
def test_a_corrected_rejects_file_maps_without_its_line_and_reason(first_two: list[str]) -> None:
    """The command's and the page's rejects files put the line and the reason first: imported again
    after a fix, those two are not kept on the person as custom fields."""
    assert map_headers("people", [*first_two, "Email", "Reason"], {}) == {2: "email", 3: "_x_Reason"}
    assert map_headers("people", ["Line", "Email"], {}) == {0: "_x_Line", 1: "email"}  # a column of its own
