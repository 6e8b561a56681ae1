"""Alembic env for authoring tenant revisions against a scratch schema. `tandem migrate` does not use it."""

import os

from alembic import context
from sqlalchemy import create_engine, text

from backend.db.engine import libpq_url
from backend.models import tenant_metadata

url = libpq_url(os.environ["TANDEM_DATABASE_URL"]).replace("postgresql://", "postgresql+psycopg://", 1)
schema = os.environ.get("TANDEM_AUTHORING_SCHEMA", "t_authoring")

with create_engine(url).connect() as connection:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.execute(text(f"SET search_path TO \"{schema}\""))  # authoring only, private connection
    connection.commit()
    context.configure(connection=connection, target_metadata=tenant_metadata, version_table_schema=schema)
    with context.begin_transaction():
        context.run_migrations()
