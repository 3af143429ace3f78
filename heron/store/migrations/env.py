"""Alembic environment: runs on the connection heron hands it."""

from alembic import context

from heron.store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:
    raise RuntimeError(
        "heron runs its migrations itself: use heron.store.db.Database.migrate"
    )

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
