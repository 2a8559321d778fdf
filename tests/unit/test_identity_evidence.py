"""What a pair's fields are worth (issue 17's F1 at 100k and 1M): a street without the same house
number, e-mail handles in other scripts, swapped names of common and rare values, EM sessions in a
big town of namesakes, and people whose last name is too short to be a key."""

from __future__ import annotations

import itertools
import string

import numpy as np

from leadloop.identity import normal as n
from leadloop.identity.blocking import blocking_keys, candidate_pairs
from leadloop.identity.compare import Columns, compare, house_numbers
from leadloop.identity.match import dedupe
from leadloop.identity.model import Model, Patterns, fit_sessions, tf_adjustment
from leadloop.identity.records import Rec, map_columns, record

HEADERS = ["first_name", "last_name", "email", "phone", "postcode", "city", "address", "dob", "company"]
COLS = map_columns(HEADERS)


def _rec(**values: str) -> Rec:
    return record({h: values.get(h, "") for h in HEADERS}, COLS)


def _levels(a: Rec, b: Rec) -> dict[str, int]:
    got = compare([a, b], np.array([0]), np.array([1]))
    return {f: int(v[0]) for f, v in got.items()}


def test_a_street_with_another_house_number_is_only_alike() -> None:
    assert house_numbers("flat 3 12 high st") == "12 3" and house_numbers("high st") is None
    home = _rec(first_name="Ann", last_name="Lee", postcode="EC1A 1BB", address="12 High Street")
    same = _rec(first_name="Ann", last_name="Lee", postcode="EC1A1BB", address="12 High St")
    flat = _rec(first_name="Ann", last_name="Lee", postcode="EC1A1BB", address="Flat 3, 12 High St")
    neighbour = _rec(first_name="Ann", last_name="Lee", postcode="EC1A1BB", address="14 High Street")
    no_number = _rec(first_name="Ann", last_name="Lee", postcode="EC1A1BB", address="High Street")
    assert _levels(home, same)["address"] == 2
    assert _levels(home, flat)["address"] == 2  # the same number, a flat in it named on one side
    assert _levels(home, neighbour)["address"] == 1
    assert _levels(home, no_number)["address"] == 1
    # Flats 3 and 5 of number 12 are two homes.
    flat5 = _rec(first_name="Ann", last_name="Lee", postcode="EC1A1BB", address="Flat 5, 12 High St")
    assert _levels(flat, flat5)["address"] == 1


def test_e_mail_handles_are_transliterated_as_names_are() -> None:
    assert n.handle_key("José.García") == "jose.garcia" and n.handle_key("łukaszR") == "lukaszr"
    assert n.handle_key("") is None
    a = _rec(first_name="José", last_name="García", email="josé.garcía@acme.com")
    b = _rec(first_name="Jose", last_name="Garcia", email="jose.garcia@acme.com")
    assert a.email_local == b.email_local == "jose.garcia"
    assert _levels(a, b)["email"] == 3  # the same mailbox, spelt with and without accents
    # The stored key (and its lookup) stays as written.
    assert a.email == "josé.garcía@acme.com"
    # A handle made of the person's own name ("björnj" for Björn Johnson) is recognised as such once
    # transliterated: at another domain it says nothing the names have not said.
    x = _rec(first_name="Björn", last_name="Johnson", email="björnj@alpine.com")
    y = _rec(first_name="Bjorn", last_name="Johnson", email="bjornj@harbor.io")
    assert x.email_local == y.email_local == "bjornj"
    assert _levels(x, y)["email"] == -1
    assert set(blocking_keys(x)) & set(blocking_keys(y)) >= {"l:bjornj"}


def _syllables() -> list[str]:
    return ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=3)]


def test_swapped_names_are_weighed_by_how_common_their_values_are() -> None:
    """Straight or swapped, an agreement on common names says less than one on rare names."""
    filler = _syllables()
    recs = [
        _rec(first_name="Zbigniew", last_name="Kowalczyk"),
        _rec(first_name="Kowalczyk", last_name="Zbigniew"),
        _rec(first_name="James", last_name="Thomas"),
        _rec(first_name="Thomas", last_name="James"),
    ]
    recs += [_rec(first_name="James", last_name=f"x{filler[k]}") for k in range(300)]
    recs += [_rec(first_name=f"y{filler[k]}", last_name="Thomas") for k in range(300)]
    recs += [_rec(first_name=f"z{filler[k]}", last_name=f"w{filler[k]}") for k in range(600)]
    cols = Columns.of(recs)
    i, j = np.array([0, 2]), np.array([1, 3])
    levels = compare(cols, i, j)
    assert levels["first"].tolist() == [4, 4] and levels["last"].tolist() == [4, 4]  # swapped, exact
    tf = tf_adjustment(Model().covering(levels), levels, cols.codes, i, j)
    rare, common = tf.tolist()
    assert rare > 0 > common


def test_em_sessions_leave_their_own_fields_out() -> None:
    """A big town of namesakes: many pairs share a full name and postcode but nothing personal,
    a few are one person. The session on name and postcode weighed its own agreement (+17 bits
    with u from random pairs) in every pair and called every namesake one person; the fit was
    then thrown away. Left out, the fit is kept and a different birth date counts against."""
    fields = ["first", "last", "email", "phone", "dob", "postcode", "city"]
    groups = [
        # (levels, pairs): one person twice
        ((4, 4, 3, 2, 4, 3, 2), 300),
        ((4, 4, 0, 2, 4, 3, 2), 100),
        ((4, 4, 3, 0, 4, 3, 2), 100),
        # namesakes in one town
        ((4, 4, 0, 0, 0, 3, 2), 4000),
        ((4, 4, 0, 0, 1, 3, 2), 100),
        # strangers sharing a birth date and postcode
        ((0, 0, 0, 0, 4, 3, 2), 3000),
        ((0, 4, 0, 0, 4, 3, 2), 300),
        ((4, 0, 0, 0, 4, 3, 2), 300),
    ]
    levels = {f: np.array([g[0][k] for g in groups], np.int64) for k, f in enumerate(fields)}
    pat = Patterns(levels, np.array([g[1] for g in groups], np.int64), np.arange(len(groups)))
    u = {
        "first": [0.9, 0.05, 0.02, 0.01, 0.02],
        "last": [0.9, 0.05, 0.02, 0.01, 0.02],
        "email": [0.9997, 0.0001, 0.0001, 0.0001],
        "phone": [0.9997, 0.0002, 0.0001],
        "dob": [0.98, 0.018, 0.0015, 0.0004, 0.0001],
        "postcode": [0.92, 0.0001, 0.0001, 0.08],
        "city": [0.92, 0.0001, 0.08],
    }
    base = Model().covering(levels)
    model = Model(base.m, {**base.u, **{f: np.array(v) for f, v in u.items()}}, base.prior)
    fitted = fit_sessions(model, pat)
    assert fitted is not None
    assert not all(np.allclose(fitted.m[f], model.m[f]) for f in fields), "the fit was thrown away"
    assert fitted.m["dob"][0] < 0.05
    p = fitted.probabilities(pat)
    assert p[0] > 0.99 and p[5] < 0.01 and p[3] < p[1]


def test_a_last_name_too_short_to_be_a_key_still_meets_its_match_at_the_same_address() -> None:
    """ "Ó" (of Ó Súilleabháin) is no name key: every rule needing a last name was lost, and in a
    big town first name and postcode alone are too common a key to compare."""
    assert n.name_key("Ó") is None
    a = _rec(
        first_name="Timothy",
        last_name="Ó",
        email="timothy.ó@meridian.com",
        phone="+1 303 555 1245",
        postcode="80202",
        city="Denver",
        address="29 Station Road",
        company="Meridian Consulting",
    )
    b = _rec(
        first_name="Tim",
        last_name="Ó",
        email="timothy.ó@juniper-old.com",
        postcode="80202",
        city="Denver",
        address="29 Station Rd",
        company="Meridian Consulting",
    )
    shared = set(blocking_keys(a)) & set(blocking_keys(b))
    assert any(k.startswith("h:") for k in shared)
    # Many other Timothys in the same postcode, at other addresses.
    others = [
        _rec(first_name="Timothy", last_name=f"L{s}", postcode="80202", city="Denver", address=f"{k} Main St")
        for k, s in enumerate(_syllables()[:40])
    ]
    recs = [a, b, *others]
    i, j = candidate_pairs(recs)
    assert (0, 1) in set(zip(i.tolist(), j.tolist(), strict=True))
    # A record with a last name keeps its usual keys, and gets no address key.
    assert not any(k.startswith("h:") for k in blocking_keys(others[0]))
    assert dedupe(recs, train=False).cluster[0] == dedupe(recs, train=False).cluster[1]
