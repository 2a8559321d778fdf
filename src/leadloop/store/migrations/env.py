from __future__ import annotations

from alembic import context

from leadloop.store.tables import Base


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    """The job engine's tables (procrastinate's own schema, migration 0036) are not our models'."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


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
