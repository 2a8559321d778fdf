"""The rollup's columns and the expressions that fill them are one list (ADR 0047): a count added to
one and not the other is caught here, not by a missing column at the first refresh."""

from leadloop.analytics.cube import MEASURES
from leadloop.store.tables import CUBE_MEASURES, LEAD_CUBE


def test_every_rollup_column_has_its_measure_and_no_more() -> None:
    assert tuple(MEASURES) == CUBE_MEASURES
    columns = [c.name for c in LEAD_CUBE.columns]
    assert columns[-len(CUBE_MEASURES) :] == list(CUBE_MEASURES)
