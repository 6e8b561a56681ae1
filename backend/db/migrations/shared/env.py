"""Alembic env for authoring `shared` revisions (autogenerate). `tandem migrate` does not use it."""

import os

from alembic import context
from sqlalchemy import create_engine

from backend.db.engine import libpq_url
from backend.models import shared_metadata

url = libpq_url(os.environ["TANDEM_DATABASE_URL"]).replace("postgresql://", "postgresql+psycopg://", 1)


def include_name(name, type_, parent_names):
    return type_ != "schema" or name == "shared"


with create_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=shared_metadata,
        include_schemas=True,
        include_name=include_name,
        version_table_schema="shared",
    )
    with context.begin_transaction():
        context.run_migrations()
