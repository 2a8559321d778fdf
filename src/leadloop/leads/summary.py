"""SQL that keeps a lead's activity summary, shared by capture and scoring. Prebuilt once:
SQLAlchemy memoises the compiled form of a statement object."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.store.tables import Lead
from leadloop.store.types import UTCDateTime

DEFAULT_PRODUCT = "general"

BUMP_LEAD = sa.text(
    "UPDATE leads SET activity_count = activity_count + :n,"
    " last_activity_at = CASE WHEN last_activity_at < :last THEN :last ELSE last_activity_at END"
    " WHERE id = :id"
).bindparams(sa.bindparam("last", type_=UTCDateTime()))
PRIOR_ACTIVITIES = sa.text(
    "SELECT count(*) FROM activities WHERE account_id = :account_id AND coalesce(product, :default) = :product"
)
REFRESH_CONTACTS = sa.text(
    "UPDATE leads SET contact_count = (SELECT count(DISTINCT a.person_id) FROM activities a"
    " WHERE a.account_id = leads.account_id AND coalesce(a.product, :default) = leads.product) WHERE id = :id"
)
LEADS: sa.Table = Lead.__table__  # type: ignore[assignment]
OPEN_LEAD = LEADS.insert().returning(LEADS.c.id)
