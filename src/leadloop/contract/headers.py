"""Header spellings of common CRM exports (Salesforce, HubSpot, Marketo...) -> contract fields."""

from __future__ import annotations

import re

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def header_key(header: str) -> str:
    """'First Name' / 'first_name' / 'FirstName' -> 'firstname'."""
    return _NON_ALNUM.sub("", header.strip().lstrip("\ufeff").casefold())


def _aliases(table: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, spellings in table.items():
        out[header_key(field)] = field
        for spelling in spellings.split(","):
            out[header_key(spelling)] = field
    return out


_PEOPLE = {
    "external_id": "id,lead id,contact id,record id,hubspot id,salesforce id,person id,contact_id,lead_id",
    "account_external_id": "account id,account_id,company id,associated company id,account external id",
    "email": "email address,e-mail,e-mail address,mail,work email,business email,email_address",
    "first_name": "first name,firstname,first,given name,fname,forename",
    "last_name": "last name,lastname,last,surname,family name,lname",
    "title": "job title,jobtitle,position,role title",
    "seniority": "seniority level,management level",
    "department": "dept,function,job function",
    "phone": "phone number,business phone,work phone,mobile,mobile phone,mobile phone number,tel,telephone",
    "company": "company name,account,account name,organization,organisation,organization name",
    "website": "company domain name,company website,domain,web site,web,company domain",
    "country": "country/region,country region,mailing country,country code",
    "state": "state/province,state/region,state province,province,region,mailing state",
    "city": "mailing city,town",
    "postcode": "postal code,zip,zip code,zip/postal code,mailing postal code,post code",
    "lead_source": "lead source,source,original source,latest source",
    "campaign": "campaign name,primary campaign",
    "created_at": "created date,create date,created,date created,createdate",
    "email_opt_in": "opt in,opted in,marketing opt in,subscribed,marketing consent",
    "email_opt_out": "email opt out,hasoptedoutofemail,has opted out of email,unsubscribed,opted out",
}
_ACCOUNTS = {
    "external_id": "id,account id,company id,record id,account_id,company_id",
    "name": "account name,company name,company,organization,organisation",
    "domain": "website,company domain name,web site,web,domain name",
    "industry": "industry name,sector",
    "employees": "number of employees,numberofemployees,employee count,headcount,staff",
    "annual_revenue": "annual revenue,revenue",
    "country": "billing country,country/region,country code",
    "state": "billing state,billing state/province,state/region,state/province,province,region",
    "city": "billing city,town",
    "postcode": "billing postal code,billing zip/postal code,postal code,zip,zip code",
    "sic_code": "sic,sic code",
    "naics_code": "naics,naics code",
    "sites": "number of sites,locations,number of locations",
    "parent_external_id": "parent id,parent account id,parent company id,parent_id",
}
_ACTIVITIES = {
    "external_id": "id,activity id,event id,activity_id",
    "person_external_id": "person id,contact id,lead id,who id,person_id,contact_id",
    "email": "email address,contact email,e-mail",
    "account_external_id": "account id,company id,account_id",
    "occurred_at": "timestamp,date,datetime,activity date,event date,time,occurred,created date",
    "type": "activity type,event type,event,activity",
    "channel": "medium",
    "direction": "inbound/outbound",
    "campaign": "campaign name",
    "product": "product line,product interest",
    "value": "amount",
    "url": "page url,link,page",
    "visitor_id": "visitor,cookie id,anonymous id",
}
_OPPORTUNITIES = {
    "external_id": "id,opportunity id,deal id,opportunity_id",
    "account_external_id": "account id,company id,account_id",
    "person_external_id": "contact id,person id,primary contact id,contact_id",
    "product": "product line,product interest",
    "created_at": "created date,create date,created",
    "closed_at": "close date,closed date,closed",
    "stage": "stage name,deal stage",
    "outcome": "result,won/lost,status",
    "amount": "deal amount,value",
    "lost_reason": "lost reason,closed lost reason,reason lost,loss reason",
}
_CAMPAIGNS = {
    "external_id": "id,campaign id,campaign_id",
    "name": "campaign name,campaign",
    "channel": "type,campaign type,medium",
    "cost": "actual cost,spend,actual spend",
    "started_at": "start date,start,started",
    "ended_at": "end date,end,ended",
}

ALIASES: dict[str, dict[str, str]] = {
    "people": _aliases(_PEOPLE),
    "accounts": _aliases(_ACCOUNTS),
    "activities": _aliases(_ACTIVITIES),
    "opportunities": _aliases(_OPPORTUNITIES),
    "campaigns": _aliases(_CAMPAIGNS),
}


def map_headers(entity: str, headers: list[str], overrides: dict[str, str]) -> dict[int, str]:
    """Column index -> field. Overrides (`--map header=field`, field '-' to skip) win; unknown
    headers keep their own (cleaned) name so that the record keeps them as custom attributes."""
    aliases = ALIASES[entity]
    by_key = {header_key(k): v for k, v in overrides.items()}
    out: dict[int, str] = {}
    for i, header in enumerate(headers):
        key = header_key(header)
        if header.strip() in overrides or key in by_key:
            target = overrides.get(header.strip(), by_key.get(key, ""))
            if target != "-":
                out[i] = target
            continue
        if not key:
            continue
        out[i] = aliases.get(key, "_x_" + header.strip())
    return out
