from __future__ import annotations

from alembic import context

from leadloop.store.tables import Base


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    """The job engine's tables and the activity partitions are not our models'."""
    if type_ != "table" or not name:
        return True
    # procrastinate's own tables, and the monthly partitions of activities (ADR 0043): the
    # partitioned parent is the model's table; its partitions are made by date, not by a model.
    return not (name.startswith("procrastinate_") or name.startswith("activities_"))


config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
