"""Alembic environment: listd passes the engine's connection in; the models are the target."""

from alembic import context

from listd.archive.search import include_name
from listd.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
