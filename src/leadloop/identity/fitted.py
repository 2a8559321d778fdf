"""A fitted match model as it is stored (JSON in `match_models.params`) and read back. Pure: the
careful default, the writer, and a reader that refuses what it cannot trust.

A stored model is read back by the real-time matcher on every capture and by the warehouse pass;
a row edited by hand or half-written must be refused with a sentence, never turned into
probabilities above 1 or an IndexError in the middle of a capture.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from leadloop.core.errors import LeadloopError
from leadloop.identity.model import Model

# The version of the comparison levels a stored model was fitted on: a model of other levels
# (version 1 had one combined name field) is not used, the careful default is.
PARAMS_VERSION = 2


class CorruptMatchModel(LeadloopError):
    """A stored match model that cannot be used as it is."""


class StaleMatchModel(LeadloopError):
    """A stored match model fitted on other comparison levels than this version's."""


def default_model() -> Model:
    """Before the warehouse has a fitted model of its own, the bulk matcher's priors made more
    careful where fields are not independent evidence: colleagues share an office phone, and the
    same city and postcode say little in a big city."""
    m = Model()
    m.u["email"] = np.array([0.994, 0.001, 0.004, 0.001])
    m.u["postcode"] = np.array([0.85, 0.05, 0.05, 0.05])
    m.u["city"] = np.array([0.7, 0.05, 0.25])
    m.u["phone"] = np.array([0.99, 0.001, 0.009])  # colleagues share a switchboard number
    m.m["first"] = np.array(
        [0.01, 0.02, 0.07, 0.10, 0.80]
    )  # plainly different first names: rarely one person
    return m


DEFAULT_MODEL = default_model()


def model_to_json(model: Model) -> dict[str, Any]:
    return {
        "version": PARAMS_VERSION,
        "m": {f: v.tolist() for f, v in model.m.items()},
        "u": {f: v.tolist() for f, v in model.u.items()},
        "prior": model.prior,
    }


def model_from_json(data: Any) -> Model:
    """The stored model over the real-time matcher's fields (a field it lacks keeps the default's
    priors). Raises StaleMatchModel for another version's levels, CorruptMatchModel for anything
    that is not a set of probabilities of the right shape."""
    if not isinstance(data, dict):
        raise CorruptMatchModel("its parameters are not an object")
    if data.get("version") != PARAMS_VERSION:
        raise StaleMatchModel(
            f"it was fitted on comparison levels of version {data.get('version')!r}, "
            f"this version compares with version {PARAMS_VERSION}"
        )
    base = default_model()
    m = _side(data, "m", base.m)
    u = _side(data, "u", base.u)
    prior = data.get("prior")
    if not isinstance(prior, int | float) or isinstance(prior, bool) or not 0 < prior < 1:
        raise CorruptMatchModel(f"its prior {prior!r} is not a probability between 0 and 1")
    return Model(m, u, float(prior))


def _side(data: dict[str, Any], name: str, base: dict[str, Any]) -> dict[str, Any]:
    given = data.get(name)
    if not isinstance(given, dict):
        raise CorruptMatchModel(f"its {name} probabilities are missing")
    out = {}
    for f, default in base.items():
        if f not in given:
            out[f] = default.copy()
            continue
        values = given[f]
        if not isinstance(values, list) or len(values) != len(default):
            raise CorruptMatchModel(f"its {name} of {f} should be {len(default)} levels, not {values!r}")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in values):
            raise CorruptMatchModel(f"its {name} of {f} holds something that is not a number: {values!r}")
        # About 1, not exactly: the shipped priors are rounded (the birth date's u sums to 0.98).
        if not all(0 < x <= 1 and math.isfinite(x) for x in values) or not 0.9 <= sum(values) <= 1.01:
            raise CorruptMatchModel(
                f"its {name} of {f} are not probabilities above 0 that sum to about 1: {values!r}"
            )
        out[f] = np.array(values, dtype=np.float64)
    return out
