"""A scoring model suggested by the history (issue 16, item 4): the fit rules learned from won and
lost deals and the half-life that ranks past questions best (learn.py), each used only where it
beats the model in force on held-out history, saved as a draft for the usual what-if and
activation. Reads the warehouse; writes only the draft, and only when asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.documents import handlers as documents
from leadloop.scoring import features as F
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.engagement import weight_for
from leadloop.scoring.handlers import ACCOUNT_FIT_FIELDS, PERSON_FIT_FIELDS
from leadloop.scoring.kind import SCORING
from leadloop.scoring.learn import Deal, FitLearned, HalfLifeLearned, learn_fit, learn_half_life, with_fit
from leadloop.scoring.predictive import load, samples
from leadloop.scoring.repository import active_model
from leadloop.scoring.target import Target
from leadloop.store.tables import Account, Opportunity, OpportunityContact, Person, ScoringModelRow

GRADES = ("A", "B", "C", "D")


@dataclass
class Suggestion:
    current: ScoringModel
    fit: FitLearned | str
    half_life: HalfLifeLearned | str
    model: ScoringModel | None  # the draft: None when neither part beats the model in force
    draft_id: int | None = None

    def lines(self) -> list[str]:
        out = []
        if isinstance(self.fit, str):
            out.append(f"Fit: {self.fit}.")
        else:
            f = self.fit
            verdict = "used" if f.better else "not used: it does not beat the rules in force by 0.01"
            out.append(
                f"Fit learned from {f.train:,} older closed deals: {len(f.rules)} rules; on the {f.held_out:,} "
                f"newest deals held out it ranks at ROC AUC {_fmt(f.auc_learned)} against {_fmt(f.auc_current)} "
                f"for the fit rules in force ({verdict})."
            )
            for label, by in (("in force", f.by_grade_current), ("learned", f.by_grade_learned)):
                cells = [
                    f"{g} {w}/{n} ({w / n:.0%})" if n else f"{g} 0/0"
                    for g, (n, w) in ((g, by[g]) for g in GRADES)
                ]
                out.append(f"  won per grade, held out, {label}: " + ", ".join(cells))
        if isinstance(self.half_life, str):
            out.append(f"Half-life: {self.half_life}.")
        else:
            h = self.half_life
            verdict = (
                f"{h.best:g} days used"
                if h.better
                else f"{h.current:g} days kept: no half-life beats it by 0.01"
            )
            table = ", ".join(f"{k:g} d {v:.3f}" for k, v in sorted(h.aucs.items()))
            out.append(
                f"Half-life on {h.questions:,} past questions (engagement ROC AUC): {table}; {verdict}."
            )
        if self.model is None:
            out.append("Nothing to suggest: the model in force ranks history as well as what was learned.")
        elif self.draft_id is not None:
            out.append(f"Saved as draft #{self.draft_id} ({self.model.name} version {self.model.version}).")
        return out


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def closed_deals(session: Session) -> list[Deal]:
    """Won and lost opportunities with their account's fields and their person's (the one named on
    the deal, else its primary contact role)."""
    primary = (
        sa.select(OpportunityContact.person_id)
        .where(OpportunityContact.opportunity_id == Opportunity.id, OpportunityContact.is_primary)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            Opportunity.outcome,
            sa.func.coalesce(Opportunity.closed_at, Opportunity.created_at),
            sa.func.coalesce(Opportunity.person_id, primary),
            Opportunity.account_id,
        ).where(Opportunity.outcome.in_(("won", "lost")))
    ).all()
    people = {
        p.id: {f: getattr(p, f) for f in PERSON_FIT_FIELDS}
        for p in session.scalars(
            sa.select(Person).where(Person.id.in_({r[2] for r in rows if r[2] is not None}))
        )
    }
    accounts = {
        a.id: {f: getattr(a, f) for f in ACCOUNT_FIT_FIELDS}
        for a in session.scalars(
            sa.select(Account).where(Account.id.in_({r[3] for r in rows if r[3] is not None}))
        )
    }
    return [
        Deal(outcome == "won", at.timestamp(), people.get(pid or 0, {}), accounts.get(aid or 0, {}))
        for outcome, at, pid, aid in rows
        if at is not None
    ]


def questions(
    session: Session, model: ScoringModel, *, now: datetime, target: Target
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The predictive model's past questions (each lead every 30 days: did its account win within
    the window?), each with the ages and model weights of the activities before it."""
    wh = load(session)
    weights = {
        acc: np.array([weight_for(model, str(k), None) for k in h.type], dtype=float)
        for acc, h in wh.histories.items()
    }
    out = []
    for s in samples(session, now=now, target=target):
        if s.label is None:
            continue
        h = wh.histories.get(s.account_id)
        if h is None:
            out.append((s.label, np.zeros(0), np.zeros(0)))
            continue
        n = int(np.searchsorted(h.t, s.cutoff, side="left"))
        out.append((s.label, (s.cutoff - h.t[:n]) / F.DAY, weights[s.account_id][:n]))
    return out


def suggest(session: Session, *, now: datetime, target: Target = Target(), save: bool = False) -> Suggestion:
    current, _ = active_model(session)
    fit = learn_fit(closed_deals(session), current)
    half = learn_half_life(
        questions(session, current, now=now, target=target), current.engagement.half_life_days
    )
    model = current
    parts = []
    if isinstance(fit, FitLearned) and fit.better:
        model = with_fit(model, fit.rules, fit.grades)
        parts.append(
            f"fit rules learned from {fit.train + fit.held_out:,} won and lost deals (held-out ROC AUC "
            f"{_fmt(fit.auc_learned)} against {_fmt(fit.auc_current)})"
        )
    if isinstance(half, HalfLifeLearned) and half.better:
        model = model.model_copy(
            update={"engagement": model.engagement.model_copy(update={"half_life_days": half.best})}
        )
        parts.append(
            f"a {half.best:g}-day half-life (engagement ROC AUC {half.aucs[half.best]:.3f} against "
            f"{half.aucs[half.current]:.3f} at {half.current:g} days)"
        )
    if not parts:
        return Suggestion(current, fit, half, None)
    version = ScoringModelRow.next_version(session, current.name, current.version)
    model = model.model_copy(
        update={
            "version": version,
            "description": f"Suggested by the history on {now:%Y-%m-%d}: " + "; ".join(parts),
        }
    )
    out = Suggestion(current, fit, half, model)
    if save:
        out.draft_id = documents.save_draft(session, SCORING, model.to_yaml(), now=now).id
    return out
