"""Any existing web form, as it is: the field names real sites post (Contact Form 7's `your-email`,
Webflow's `Email`, HubSpot's `firstname`, Salesforce web-to-lead's `first_name`, Elementor's
`form_fields[email]`, a German `Vorname`...) mapped onto the contract the way imports map headers.
Pure: the form endpoint hands the posted fields in and gets the lead's fields back.

A submission with a valid e-mail address under any name is a lead: when no field is called an
e-mail, the values are searched for one. One full-name field is split into first and last name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from leadloop.capture.schemas import LeadCreate
from leadloop.contract.headers import ALIASES, header_key
from leadloop.contract.vocab import FORM_ACTIVITY_TYPES, check_activity_type
from leadloop.core.errors import InvalidInput, UnknownActivityType

# Field names of form builders and other languages -> the lead's fields ("name": one full name).
_FORM_NAMES = {
    "email": "your-email,youremail,emailaddress,email_address,e-mail,courriel,correo,correo electronico,"
    "emailadresse,e-mail-adresse,mail address,work e-mail",
    "first_name": "your-first-name,yourfirstname,vorname,prenom,prénom,nombre,voornaam,nome",
    "last_name": "your-last-name,yourlastname,nachname,nom,nom de famille,apellido,apellidos,achternaam,cognome",
    "name": "your-name,yourname,name,full name,fullname,full_name,contact name,your full name,nom complet,"
    "nombre completo,vollständiger name",
    "company": "your-company,yourcompany,firma,unternehmen,société,societe,entreprise,empresa,bedrijf,azienda,"
    "company_name,organisation name",
    "phone": "your-phone,your-tel,yourphone,yourtel,telefon,téléphone,telephone,telefono,teléfono,telefoon,"
    "phone_number,phonenumber",
    "title": "your-title,jobtitle,job_title,position,funktion,poste,cargo",
    "message": "your-message,yourmessage,message,comments,comment,enquiry,inquiry,question,how can we help,"
    "nachricht,mensaje,votre message,bericht,messaggio,description",
    "website": "your-website,url,site,company website,webseite",
    "country": "your-country,land,pays,país,pais",
}
_EXTRA = {
    header_key(spelling): target
    for target, spellings in _FORM_NAMES.items()
    for spelling in spellings.split(",")
    if spelling.strip()
}
_BRACKETS = re.compile(r"^(?:form_fields|fields|data|lead|contact|input)\[([^\]]+)\]$", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


# The lead's fields a form may post under their own names. `activity_type` is one: a hidden input
# says what the form is (a demo request...).
FORM_FIELDS = frozenset(LeadCreate.model_fields) - {"attributes", "created_at", "occurred_at"}

# Fields a form sets only under their own name: a hidden "id" on a page is not the person's id.
_EXACT_ONLY = frozenset({"external_id", "account_external_id", "created_at"})


@dataclass
class MappedForm:
    fields: dict[str, str]  # the lead's fields (LeadCreate names)
    extras: dict[str, str]  # what maps to nothing: kept on the person, bounded
    mapped: dict[str, str] = field(default_factory=dict)  # posted name -> field, to show what happened


def _target(name: str, known: frozenset[str]) -> str | None:
    inner = _BRACKETS.match(name.strip())
    raw = inner.group(1) if inner else name
    if raw in known:
        return raw
    key = header_key(raw)
    for candidate in (key, key.removeprefix("your")):
        if candidate in _EXTRA:
            return _EXTRA[candidate]
        hit = ALIASES["people"].get(candidate)
        if hit in known and hit not in _EXACT_ONLY:
            return hit
    return None


def split_name(full: str) -> tuple[str | None, str | None]:
    """'Ann Lee' -> (Ann, Lee); 'Lee, Ann' -> (Ann, Lee); 'Ann' -> (Ann, None)."""
    full = " ".join(full.split())
    if "," in full:
        last, _, first = full.partition(",")
        return (first.strip() or None, last.strip() or None)
    first, _, last = full.partition(" ")
    return (first or None, last or None)


IGNORE = "-"  # a saved mapping's target for a field to drop (a "how did you hear of us" widget)


def check_mapping(mapping: Mapping[str, str], *, known: frozenset[str]) -> dict[str, str]:
    """A saved mapping, cleaned; every target must be a field the form can fill, "name" (a full
    name) or "-" (ignore), or the whole mapping is refused with the names that are wrong."""
    allowed = known | {"name", IGNORE}
    clean = {k.strip(): v.strip() for k, v in mapping.items() if k.strip()}
    wrong = sorted(f"{k} -> {v}" for k, v in clean.items() if v not in allowed)
    if wrong:
        raise InvalidInput(
            "unknown target field: " + "; ".join(wrong) + "; use one of: " + ", ".join(sorted(allowed))
        )
    return clean


def map_form(
    posted: Mapping[str, str], *, known: frozenset[str], saved: Mapping[str, str] | None = None
) -> MappedForm:
    """`known`: the lead fields the endpoint takes under their own names; `saved`: this form's
    saved mapping (posted name -> field or "-"), which wins over the automatic one."""
    out = MappedForm({}, {})
    full_name: str | None = None
    saved = saved or {}
    for name, value in posted.items():
        target = saved.get(name) or _target(name, known)
        if target == IGNORE:
            out.mapped[name] = IGNORE
            continue
        if target is None:
            out.extras[name] = value
            continue
        out.mapped[name] = target
        if target == "name":
            full_name = full_name or value
        elif target == "message" and "message" in out.fields:
            out.fields["message"] += "\n" + value  # subject and message, or two text areas
        else:
            out.fields.setdefault(target, value)
    if full_name and not (out.fields.get("first_name") or out.fields.get("last_name")):
        first, last = split_name(full_name)
        if first:
            out.fields["first_name"] = first
        if last:
            out.fields["last_name"] = last
    if not out.fields.get("email"):
        # An e-mail under a name we do not know is still the lead's e-mail: never lose the lead.
        for name, value in list(out.extras.items()):
            if (m := _EMAIL.fullmatch(value.strip())) is not None:
                out.fields["email"] = m.group(0)
                out.mapped[name] = "email"
                del out.extras[name]
                break
    return out


FORM_SUBMIT = "form_submit"


@dataclass(frozen=True)
class FormActivity:
    type: str
    payload: dict[str, str]  # what the activity keeps beside: the value given, when it was not taken
    warning: str | None = None


def form_activity(given: str | None) -> FormActivity:
    """What a submission is, from the form's hidden `activity_type` field ("demo_request",
    "Contact sales"...). A value that is not a type a form may set is never a refusal: the lead
    lands as a plain form submission, with the value kept in the activity's payload and a warning."""
    if given is None or not given.strip():
        return FormActivity(FORM_SUBMIT, {})
    try:
        kind: str | None = check_activity_type(given[:50])
    except UnknownActivityType:
        kind = None
    if kind in FORM_ACTIVITY_TYPES:
        return FormActivity(kind, {})
    why = "is not an activity type" if kind is None else "cannot be set by a web form"
    warning = f"activity_type {given[:100]!r} {why}; kept as a form submission. A form may say: " + ", ".join(
        sorted(FORM_ACTIVITY_TYPES)
    )
    return FormActivity(FORM_SUBMIT, {"activity_type_given": given[:200], "warning": warning}, warning)
