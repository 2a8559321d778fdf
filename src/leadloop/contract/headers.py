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
            out.setdefault(header_key(spelling), field)
    return out


def _ranks(table: dict[str, str]) -> dict[str, int]:
    """How close a spelling is to its field: 0 for the field's own name, then in the order listed."""
    out: dict[str, int] = {}
    for field, spellings in table.items():
        out[header_key(field)] = 0
        for n, spelling in enumerate(spellings.split(","), start=1):
            out.setdefault(header_key(spelling), n)
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
    "phone": "phone number,business phone,work phone,tel,telephone,mobile,mobile phone,mobile phone number",
    "company": "company name,company / account,account,account name,organization,organisation,organization name,associated company",
    "website": "website url,company domain name,company website,domain,web site,web,company domain,url",
    # One address line (direct mail); a second line ("Address 2") stays a custom field beside it.
    "street": "street address,address,address line 1,address line1,address 1,address_1,street 1,"
    "mailing street,mailing address,postal address,street and number",
    "country": "country/region,country region,mailing country,country code",
    "state": "state/province,state/region,state province,province,region,mailing state",
    "city": "mailing city,town",
    "postcode": "postal code,zip,zip code,zip/postal code,mailing postal code,post code",
    "lead_source": "lead source,source,original source,latest source",
    "campaign": "campaign name,primary campaign",
    "created_at": "created date,create date,created,date created,createdate",
    "email_opt_in": "opt in,opted in,marketing opt in,subscribed,marketing consent",
    "email_opt_out": "email opt out,hasoptedoutofemail,has opted out of email,unsubscribed,opted out,unsubscribed from all email,opted out of all email",
    # A peer CRM's state, carried over to the lead of the person's account (capture/carryover.py).
    "owner": "contact owner,lead owner,owner,owner name,record owner,hubspot owner,contact owner email,lead owner email,owner email",
    "lifecycle_stage": "lifecycle stage,lifecyclestage,stage",
    "lead_status": "lead status,hs lead status,status",
    # Firmographics on a person row belong to the account.
    "industry": "industry name,sector",
    "employees": "number of employees,no. of employees,numberofemployees,employee count,headcount,company size",
    "annual_revenue": "annual revenue,revenue,company revenue",
}
_ACCOUNTS = {
    "external_id": "id,account id,company id,record id,account_id,company_id",
    "name": "account name,company name,company,company / account,organization,organisation",
    "domain": "website,website url,company domain name,web site,web,domain name",
    "industry": "industry name,sector",
    "employees": "number of employees,no. of employees,numberofemployees,employee count,headcount,staff",
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
# A CRM exported in German, French or Dutch (the demo's markets) names the same columns its way.
_PEOPLE_LOCAL = {
    "email": "e-mail-adresse,emailadresse,courriel,adresse e-mail,e-mailadres",
    "first_name": "vorname,prénom,prenom,voornaam",
    "last_name": "nachname,familienname,nom,nom de famille,achternaam",
    "title": "funktion,berufsbezeichnung,poste,fonction,functie",
    "phone": "telefon,telefonnummer,téléphone,telefoon,telefoonnummer",
    "company": "firma,unternehmen,société,societe,entreprise,bedrijf,bedrijfsnaam",
    "country": "land,pays",
    "city": "stadt,ort,ville,plaats,woonplaats",
    "postcode": "plz,postleitzahl,code postal,postcode",
    "street": "straße,strasse,straße und hausnummer,anschrift,adresse,rue,adres,straat,dirección,"
    "direccion,calle,domicilio,indirizzo",
}
for _field, _local in _PEOPLE_LOCAL.items():
    _PEOPLE[_field] += "," + _local
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
    "external_id": "id,opportunity id,deal id,opportunity_id,record id,deal record id",
    "account_external_id": "account id,company id,account_id,associated company ids,associated company id,"
    "associated company,company ids",
    "person_external_id": "contact id,person id,primary contact id,contact_id,associated contact ids,"
    "associated contact id,contact ids",
    "product": "product line,product interest",
    "created_at": "created date,create date,created",
    "closed_at": "close date,closed date,closed",
    "stage": "stage name,deal stage,stagename,dealstage",
    "outcome": "result,won/lost,status",
    "amount": "deal amount,value",
    "lost_reason": "lost reason,closed lost reason,reason lost,loss reason,loss_reason__c,loss reason c",
    "name": "opportunity name,deal name,dealname",
    "currency": "currencyisocode,currency iso code,currency code,deal currency code,deal currency",
    "is_won": "iswon,won",
    "is_closed": "isclosed",
}
_CONTACT_ROLES = {
    "external_id": "id,opportunity contact role id,contact role id",
    "opportunity_external_id": "opportunity id,opportunityid,deal id,opportunity_id,deal record id",
    "person_external_id": "contact id,contactid,person id,contact_id,contact record id",
    "role": "contact role,role name",
    "is_primary": "isprimary,primary,primary contact",
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
    "contact_roles": _aliases(_CONTACT_ROLES),
}
RANK: dict[str, dict[str, int]] = {
    "people": _ranks(_PEOPLE),
    "accounts": _ranks(_ACCOUNTS),
    "activities": _ranks(_ACTIVITIES),
    "opportunities": _ranks(_OPPORTUNITIES),
    "campaigns": _ranks(_CAMPAIGNS),
    "contact_roles": _ranks(_CONTACT_ROLES),
}


# A rejects file's own first two columns (the command's, capture/importer.py, and the page's
# download): a corrected rejects file imported again must not keep them as custom fields.
REJECTS_COLUMNS = ("_line", "_reason")
_REJECTS_HEADS = {REJECTS_COLUMNS, ("Line", "Reason")}


def map_headers(entity: str, headers: list[str], overrides: dict[str, str]) -> dict[int, str]:
    """Column index -> field. Overrides (`--map header=field`, field '-' to skip) win; unknown
    headers keep their own (cleaned) name so that the record keeps them as custom attributes.

    Two headers that both spell one field (Salesforce's `Phone` and `Mobile`) are not an error when
    the mapping is automatic: the closer spelling (the field's own name, then the earlier alias)
    takes the field and the other is kept as a custom attribute. Mapping two columns to one field
    by hand is refused by the caller, which names both."""
    aliases = ALIASES[entity]
    by_key = {header_key(k): v for k, v in overrides.items()}
    bookkeeping = 2 if tuple(h.strip().lstrip("\ufeff") for h in headers[:2]) in _REJECTS_HEADS else 0
    out: dict[int, str] = {}
    automatic: dict[str, list[tuple[int, int]]] = {}  # field -> [(rank, column)]
    for i, header in enumerate(headers):
        key = header_key(header)
        if header.strip() in overrides or key in by_key:
            target = overrides.get(header.strip(), by_key.get(key, ""))
            if target != "-":
                out[i] = target
            continue
        if not key or i < bookkeeping:
            continue
        field = aliases.get(key)
        if field is None:
            out[i] = "_x_" + header.strip()
            continue
        automatic.setdefault(field, []).append((RANK[entity].get(key, 0), i))
    taken = set(out.values())
    for field, columns in automatic.items():
        columns.sort()
        for n, (_rank, i) in enumerate(columns):
            out[i] = field if n == 0 and field not in taken else "_x_" + headers[i].strip()
    return dict(sorted(out.items()))
