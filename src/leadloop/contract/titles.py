"""A job title -> seniority and department, in the languages the demo and our customers' forms
use (English, German, French, Spanish, Italian, Dutch, Swedish, Portuguese). Pure.

"VP Engineering" -> (VP, Engineering); "Leiter Vertrieb" -> (Director, Sales); "Responsable
marketing" -> (Manager, Marketing). The answers use the fit rules' vocabulary (contract/vocab.py
SENIORITIES, DEPARTMENTS), so a rule such as `person.seniority in [C-Level, VP, Director]` fires on
a title nobody classified by hand. A title we cannot read gives None, never a guess: the raw title
is kept as typed either way, and a seniority or department given explicitly always wins.

Matching is on words after folding case and accents ("Geschäftsführer" -> "geschaftsfuhrer"), plus
the ends of German and Swedish compounds ("Vertriebsleiter", "IT-chef"), so "International" is not
an intern and "Chief of Staff" is not a chief officer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from leadloop.contract.vocab import (
    C_LEVEL,
    DIRECTOR,
    INDIVIDUAL,
    INTERN,
    MANAGER,
    VP,
)

MAX_TITLE = 300  # a title longer than a column's worth is read up to here
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class ParsedTitle:
    seniority: str | None
    department: str | None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text[:MAX_TITLE].replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


Phrases = dict[str, tuple[tuple[str, ...], ...]]  # first word -> the phrases starting with it


def _phrases(spec: str) -> Phrases:
    """'vice president, head of' -> {'vice': (('vice', 'president'),), 'head': (('head', 'of'),)}:
    indexed by first word, so a title is read in one pass over its words."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for p in spec.split(","):
        words = tuple(_WORD.findall(_fold(p)))
        if words:
            out.setdefault(words[0], []).append(words)
    return {k: tuple(v) for k, v in out.items()}


def _either(*tables: Phrases) -> Phrases:
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for table in tables:
        for k, v in table.items():
            out[k] = out.get(k, ()) + v
    return out


def _has(words: list[str], phrases: Phrases) -> bool:
    for i, w in enumerate(words):
        for phrase in phrases.get(w, ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                return True
    return False


def _ends(words: list[str], suffixes: tuple[str, ...]) -> bool:
    """A compound ending in one of these ("vertriebsleiter" ends in "leiter")."""
    return any(w.endswith(s) and len(w) > len(s) for w in words for s in suffixes)


# Seniority, tried in this order: the first that matches wins.
_ASSISTANT = _phrases("assistant, assistent, assistentin, assistente, asistente, secretary, sekretar")
_INTERN = _phrases(
    "intern, internship, trainee, praktikant, praktikantin, werkstudent, werkstudentin, student,"
    " apprentice, auszubildender, azubi, stagiaire, alternant, becario, becaria, practicante,"
    " stagista, stagiair, praktikant, estagiario, estagiaria"
)
_C_LEVEL = _phrases(
    "ceo, cto, cfo, coo, cmo, cio, cro, cso, cdo, cpo, ciso, cco, chro, chief executive,"
    " chief technology, chief financial, chief operating, chief marketing, chief information,"
    " chief revenue, chief sales, chief digital, chief product, chief data, chief commercial,"
    " chief people, chief human, chief security, chief information security, chief customer,"
    " president, founder, co founder, cofounder, owner, managing director, managing partner,"
    " general manager, geschaftsfuhrer, geschaftsfuhrerin, geschaftsleitung, vorstand,"
    " vorstandsvorsitzender, inhaber, inhaberin, grunder, grunderin, directeur general,"
    " directrice generale, pdg, president directeur general, gerant, gerante, fondateur, fondatrice,"
    " director general, directora general, director ejecutivo, directora ejecutiva,"
    " consejero delegado, consejera delegada, gerente general, fundador, fundadora, propietario,"
    " amministratore delegato, direttore generale, titolare, fondatore, algemeen directeur,"
    " directeur eigenaar, eigenaar, oprichter, verkstallande direktor, vd, grundare, agare,"
    " diretor geral, diretor executivo, socio fundador"
)
_NOT_C_LEVEL = _phrases(
    "vice president, vicepresident, vp, chief of staff, vice presidente, vizeprasident, product owner,"
    " process owner, service owner, data owner, account owner, business owner"
)
_VP = _phrases(
    "vp, svp, evp, avp, vice president, vicepresident, vice presidente, vicepresidente, vizeprasident,"
    " vizeprasidentin, vice presidente, senior vice president, executive vice president,"
    " bereichsleiter, bereichsleiterin, directeur executif"
)
_DIRECTOR = _phrases(
    "director, directora, directeur, directrice, direktor, direktorin, direttore, direttrice,"
    " diretor, diretora, directeur, head, head of, hoofd, leiter, leiterin, abteilungsleiter,"
    " abteilungsleiterin, chef de service, responsable de departement, jefe de departamento"
)
_DIRECTOR_ENDS = ("leiter", "leiterin", "direktor", "direktorin", "chef")  # Vertriebsleiter, IT-chef
_MANAGER_FIRST = _phrases(
    "team lead, team leader, teamleiter, teamleiterin, gruppenleiter, gruppenleiterin, projektleiter,"
    " projektleiterin, teamleider, chef de projet, chef de produit, chef d equipe, jefe de proyecto,"
    " jefe de equipo, capo progetto"
)
_MANAGER = _phrases(
    "manager, managerin, gerente, jefe, jefa, responsable, responsabile, chef, lead, leader, supervisor,"
    " manager, teamchef, coordinador, coordinatrice, gestor, gestora, gestionnaire, manager, leider"
)
_MANAGER_ENDS = ("manager", "managerin")
_INDIVIDUAL = _phrases(
    "engineer, developer, programmer, specialist, analyst, consultant, associate, representative,"
    " executive, administrator, admin, architect, designer, scientist, accountant, officer, advisor,"
    " adviser, coordinator, technician, agent, recruiter, writer, editor, planner, buyer, clerk,"
    " ingenieur, ingenieurin, entwickler, entwicklerin, berater, beraterin, referent, referentin,"
    " sachbearbeiter, sachbearbeiterin, spezialist, spezialistin, mitarbeiter, mitarbeiterin,"
    " ingenieur, developpeur, developpeuse, charge, chargee, consultant, consultante, commercial,"
    " ingeniero, ingeniera, desarrollador, desarrolladora, analista, consultor, consultora,"
    " especialista, tecnico, tecnica, ejecutivo, ejecutiva, vendedor, vendedora, sviluppatore,"
    " specialista, consulente, impiegato, impiegata, medewerker, adviseur, ontwikkelaar,"
    " utvecklare, saljare, konsult, handlaggare, desenvolvedor, analista, representante"
)
_INDIVIDUAL_ENDS = ("entwickler", "ingenieur", "berater", "referent", "sachbearbeiter", "utvecklare")


_CEO = _phrases("ceo")
_SENIOR_TO_ASSISTANT = _either(_DIRECTOR, _VP)


def _seniority(words: list[str]) -> str | None:
    c_level = _has(words, _C_LEVEL) and not (_has(words, _NOT_C_LEVEL) and not _has(words, _CEO))
    if _has(words, _ASSISTANT) and (c_level or not _has(words, _SENIOR_TO_ASSISTANT)):
        return INDIVIDUAL  # "Executive Assistant to the CEO", "Marketing Assistant"
    if _has(words, _INTERN):
        return INTERN
    if "chief" in words and "officer" in words and not c_level:
        c_level = True  # "Chief Happiness Officer": any chief officer
    if c_level:
        return C_LEVEL
    if _has(words, _VP):
        return VP
    if _has(words, _MANAGER_FIRST):
        return MANAGER
    if _has(words, _DIRECTOR) or _ends(words, _DIRECTOR_ENDS):
        return DIRECTOR
    if _has(words, _MANAGER) or _ends(words, _MANAGER_ENDS):
        return MANAGER
    if _has(words, _INDIVIDUAL) or _ends(words, _INDIVIDUAL_ENDS):
        return INDIVIDUAL
    return None


# Departments, tried in this order: "Head of Sales Operations" is sales, "IT Support" is IT,
# "People Operations" is HR. Each: (department, phrases, beginnings or endings of compounds).
_DEPARTMENTS: tuple[tuple[str, Phrases, tuple[str, ...]], ...] = (
    (
        "IT",
        _phrases(
            "it, ict, ti, sistemas, information technology, informatique, informatica, edv, systems,"
            " infrastructure,"
            " helpdesk, service desk, sysadmin, system administrator, systemadministrator, network,"
            " netzwerk, cio, chief information, ciso, it sicherheit"
        ),
        ("informatik", "systemadministrator"),
    ),
    (
        "Customer Success",
        _phrases(
            "customer success, customer service, customer support, customer care, kundenservice,"
            " kundenbetreuung, service client, relation client, atencion al cliente, servizio clienti,"
            " klantenservice, kundtjanst, support, cco, chief customer"
        ),
        ("kundenservice", "kundendienst", "kundtjanst"),
    ),
    (
        "Sales",
        _phrases(
            "sales, vertrieb, verkauf, commercial, commerciale, ventes, vente, ventas, venta, vendite,"
            " comercial, forsaljning, salj, verkoop, business development, account executive,"
            " account manager, key account, revenue, cro, cso, chief revenue, chief sales,"
            " chief commercial, vendas"
        ),
        ("vertrieb", "verkauf", "forsaljning", "saljare", "saljchef"),
    ),
    (
        "Marketing",
        _phrases(
            "marketing, marketeer, mercadotecnia, mercadeo, marknad, marknadsforing, communication,"
            " communications, kommunikation, communicatie, comunicacion, comunicazione, brand, demand"
            " generation, growth, content, pr, public relations, cmo, chief marketing"
        ),
        ("marketing", "marknad"),
    ),
    (
        "Engineering",
        _phrases(
            "engineering, engineer, software, developer, development, devops, r d, research and"
            " development, entwicklung, entwickler, ingenieur, ingenierie, ingenieria, ingegneria,"
            " desarrollo, developpement, sviluppo, utveckling, ontwikkeling, technology, technik,"
            " technique, tecnologia, cto, chief technology, architect, programmer, data science"
        ),
        ("entwicklung", "entwickler", "ingenieur", "technik", "utvecklare", "utveckling"),
    ),
    (
        "HR",
        _phrases(
            "hr, human resources, people, talent, recruiting, recruitment, recruiter, leiter personal,"
            " leiterin personal, personalwesen, ressources humaines, rh, recursos humanos, rrhh,"
            " risorse umane, personeelszaken, chro, chief people, chief human"
        ),
        ("personalleiter", "personalabteilung", "personalreferent", "personalentwicklung", "personalchef"),
    ),
    (
        "Operations",
        _phrases(
            "operations, operation, operativ, betrieb, operaciones, logistics, logistik, logistique,"
            " logistica, supply chain, production, produktion, produccion, produzione, coo,"
            " chief operating, facilities, verksamhet"
        ),
        ("logistik", "produktion", "betrieb"),
    ),
    (
        "Finance",
        _phrases(
            "finance, financial, finanzen, finanz, finances, financier, financiere, finanzas,"
            " financiero, finanza, finanziario, ekonomi, financien, accounting, accountant,"
            " buchhaltung, controller, controlling, comptabilite, comptable, contabilidad, contable,"
            " contabilita, treasury, cfo, chief financial, kaufmannisch, tresorerie"
        ),
        ("finanz", "buchhalter", "ekonomi", "controller"),
    ),
    (
        "Legal",
        _phrases(
            "legal, counsel, general counsel, lawyer, attorney, jurist, justitiar, recht, rechtsabteilung,"
            " juridique, juriste, juridico, abogado, abogada, legale, avvocato, compliance"
        ),
        ("jurist", "justitiar"),
    ),
    (
        "Product",
        _phrases("product, produkt, produit, producto, prodotto, cpo, chief product"),
        ("produkt",),
    ),
    (
        "Purchasing",
        _phrases("procurement, purchasing, einkauf, achats, achat, compras, acquisti, inkop, buyer"),
        ("einkauf", "einkaufer"),
    ),
    (
        "Executive",
        _phrases(
            "ceo, chief executive, president, founder, co founder, cofounder, owner, managing director,"
            " general manager, geschaftsfuhrer, geschaftsfuhrerin, geschaftsleitung, vorstand, inhaber,"
            " inhaberin, directeur general, directrice generale, pdg, gerant, gerante, director general,"
            " directora general, consejero delegado, gerente general, amministratore delegato,"
            " direttore generale, algemeen directeur, verkstallande direktor, vd, eigenaar"
        ),
        (),
    ),
)


_COMPOUNDS = {
    name: re.compile(f"^(?:{'|'.join(parts)})|(?:{'|'.join(parts)})$")
    for name, _, parts in _DEPARTMENTS
    if parts
}


def _department(words: list[str]) -> str | None:
    for name, phrases, _ in _DEPARTMENTS:
        compound = _COMPOUNDS.get(name)
        if _has(words, phrases) or (compound is not None and any(compound.search(w) for w in words)):
            return name
    return None


def parse_title(title: str | None) -> ParsedTitle:
    """Seniority and department of a job title in any of the languages above; None where unknown."""
    if not title or not title.strip():
        return ParsedTitle(None, None)
    words = _WORD.findall(_fold(title))
    if not words:
        return ParsedTitle(None, None)
    seniority = _seniority(words)
    department = _department(words)
    if department == "Executive" and seniority not in (C_LEVEL, None):
        department = None  # "Assistant to the CEO" works for the executive, not as one
    return ParsedTitle(seniority, department)
